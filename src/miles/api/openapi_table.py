"""The vocabulary of the OpenAPI table (miles.api.openapi): an operation's entry and the error codes that
many operations share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

Idempotency = Literal["none", "optional", "required"]
GENERIC_422 = ("invalid_input", "missing_field", "unknown_field", "invalid_json", "not_an_object")
UNAUTHORIZED = ("missing_api_key", "invalid_api_key", "key_expired", "key_revoked")
FORBIDDEN = ("missing_scope",)
REPLAYED = (
    "a replay: the same request again (same coupon or Idempotency-Key, same body), answered as the first was"
)


@dataclass(frozen=True)
class Operation:
    id: str
    scope: str | None  # None: no key needed
    ok: dict[int, tuple[type[BaseModel] | None, str]]
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)
    idempotency: Idempotency = "none"
    description: str = ""


def keyed(*extra: tuple[int, tuple[str, ...]]) -> dict[int, tuple[str, ...]]:
    """The errors of an operation that needs a key: 401, 403, 422, and `extra`."""
    errors: dict[int, tuple[str, ...]] = {401: UNAUTHORIZED, 403: FORBIDDEN, 422: GENERIC_422}
    for status, codes in extra:
        errors[status] = (*errors.get(status, ()), *codes)
    return errors


MEMBER_404 = (404, ("member_not_found",))
