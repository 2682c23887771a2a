"""Idempotency keys, one mechanism for every use case that takes one.

A key belongs to its caller (the owner: an API key, an agent) and to an operation ("member.create",
"redemption.cancel"...); the same key from another caller, or for another operation, is another key.
The first request claims the key and stores its answer; a retry with the same request gets that answer
back (replayed), with another request a 409 `idempotency_key_reused`.

- A use case of one transaction (`once`) claims the key in that transaction: a concurrent request with
  the same key waits on the row until the first commits (then replays) or rolls back (then runs).
- A use case spanning transactions (`once_across`: a cancellation asks the suppliers between two)
  claims it in a transaction of its own first; a second request while the first is in flight gets a 409
  `idempotency_key_in_flight`. A failure gives the key up; a claim left by a process that stopped is
  taken over after `STALE_SECONDS`.

Answers are stored as JSON and read back into the same view type (`to_json` / `from_json`), so a replay
is rendered exactly as the first answer was.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from miles.adapters.db.idempotency import StoredKey
from miles.adapters.db.unit_of_work import UnitOfWork, UnitOfWorkFactory
from miles.domain.errors import Conflict, InvalidInput
from miles.services.digest import request_digest

T = TypeVar("T")
MAX_KEY = 200
STALE_SECONDS = 300.0


@dataclass(frozen=True)
class IdempotencyKey:
    owner: str  # "apikey:<prefix>", "agent:<id>"
    operation: str  # "member.create", "redemption.cancel", ...
    key: str
    digest: str  # the request's fingerprint: the same key with another request is refused


def keyed_request(owner: str, operation: str, key: str | None, request: Any) -> IdempotencyKey | None:
    """The key a request carries (None when it carries none), with the fingerprint of `request`."""
    if key is None or key == "":
        return None
    if len(key) > MAX_KEY or not key.isprintable():
        raise InvalidInput(
            f"an Idempotency-Key is 1 to {MAX_KEY} printable characters", field="Idempotency-Key"
        )
    return IdempotencyKey(owner, operation, key, request_digest(request))


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T
    replayed: bool  # the answer of an earlier request with the same key


def _answer(stored: StoredKey, key: IdempotencyKey) -> dict[str, Any]:
    if stored.request_digest != key.digest:
        raise Conflict(
            "this Idempotency-Key was used with another request",
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    if stored.answer is None:
        raise Conflict(
            "a request with this Idempotency-Key is still in progress: retry in a moment",
            field="Idempotency-Key",
            code="idempotency_key_in_flight",
        )
    return stored.answer


def replayed(uow: UnitOfWork, key: IdempotencyKey | None, view: type[T]) -> Outcome[T] | None:
    """The earlier answer under `key`, read without claiming it (to skip slow work before `once`)."""
    if key is None:
        return None
    stored = uow.idempotency.find(key.owner, key.operation, key.key)
    if stored is None:
        return None
    return Outcome(from_json(view, _answer(stored, key)), True)


def once(uow: UnitOfWork, key: IdempotencyKey | None, view: type[T], work: Callable[[], T]) -> Outcome[T]:
    """Run `work` in the caller's transaction unless `key` already answered."""
    if key is None:
        return Outcome(work(), False)
    stored = uow.idempotency.claim(key.owner, key.operation, key.key, key.digest)
    if stored is not None:
        return Outcome(from_json(view, _answer(stored, key)), True)
    value = work()
    uow.idempotency.complete(key.owner, key.operation, key.key, to_json(value))
    return Outcome(value, False)


def once_across(
    uow: UnitOfWorkFactory, key: IdempotencyKey | None, view: type[T], work: Callable[[], T]
) -> Outcome[T]:
    """Run `work`, which opens transactions of its own, unless `key` already answered or is in flight."""
    if key is None:
        return Outcome(work(), False)
    with uow() as claiming:
        stored = claiming.idempotency.claim(key.owner, key.operation, key.key, key.digest)
        if stored is not None and stored.answer is None and stored.request_digest == key.digest:
            if claiming.idempotency.take_over(key.owner, key.operation, key.key, key.digest, STALE_SECONDS):
                stored = None
        if stored is not None:
            return Outcome(from_json(view, _answer(stored, key)), True)
    try:
        value = work()
    except BaseException:
        with uow() as releasing:
            releasing.idempotency.release(key.owner, key.operation, key.key)
        raise
    with uow() as completing:
        completing.idempotency.complete(key.owner, key.operation, key.key, to_json(value))
    return Outcome(value, False)


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def to_json(value: Any) -> dict[str, Any]:
    """A view (a dataclass, nested views and lists of them) as JSON types."""
    body = (
        dataclasses.asdict(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type)
        else value
    )
    return json.loads(json.dumps(body, default=_encode))  # type: ignore[no-any-return]


def from_json(view: type[T], data: Any) -> T:
    """The view `to_json` stored, read back into its type."""
    return _decode(view, data)  # type: ignore[no-any-return]


def _decode(kind: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        return _decode(inner[0], data) if len(inner) == 1 else data
    if origin in (list, tuple):
        [item, *_] = typing.get_args(kind)
        decoded = [_decode(item, v) for v in data]
        return decoded if origin is list else tuple(decoded)
    if origin is dict or kind is Any:
        return data
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(kind)})
    if kind is datetime:
        return datetime.fromisoformat(data)
    if kind is date:
        return date.fromisoformat(data)
    if kind is Decimal:
        return Decimal(data)
    if isinstance(kind, type) and not isinstance(data, kind):
        return kind(data)  # enums, str subclasses
    return data
