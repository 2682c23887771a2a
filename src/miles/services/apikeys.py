"""API keys with scopes: created by operators, listed and revoked by them, expiring when they say;
verified on every request against a cache whose answers live at most `MAX_CACHE_SECONDS`, so a revocation
(by `miles apikey revoke` or by hand in SQL) takes effect in every process within that time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from miles.adapters.db.apikeys import ApiKeyRecord
from miles.adapters.db.unit_of_work import UnitOfWorkFactory
from miles.domain.errors import Forbidden, InvalidInput, Unauthorized
from miles.services.clock import Clock, SystemClock

if TYPE_CHECKING:
    from miles.services.runtime import Runtime

SCOPES = (
    "accrual:write",
    "member:read",
    "member:write",
    "redemption:write",
    "adjustment:write",
    "promotion:write",
    "partner:write",
    "finance:read",
    "analytics:read",
    "admin",
)
MAX_CACHE_SECONDS = 2.0  # a revoked key is refused by every process within this (and a request's time)


@dataclass(frozen=True)
class Principal:
    key_name: str
    key_prefix: str
    scopes: frozenset[str]
    partner: str | None = None  # a key bound to a partner acts for that partner only

    def require(self, scope: str) -> None:
        if scope not in self.scopes and "admin" not in self.scopes:
            raise Forbidden(f"this API key lacks the scope {scope}", code="missing_scope")

    def require_partner(self, partner: str) -> None:
        """A key bound to a partner is refused on every other partner's routes."""
        if self.partner is not None and self.partner != partner:
            raise Forbidden(
                f"this API key is bound to the partner {self.partner}, not {partner}", code="wrong_partner"
            )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(
    runtime: Runtime,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    partner: str | None = None,
) -> str:
    """Make a new key (the token, shown once); with `expires_at`, refused from that instant on (judged on
    the runtime's clock); with `partner`, bound to that partner of the programme."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(
            f"scopes must be among {', '.join(SCOPES)}; got {unknown or 'none'}", field="scope"
        )
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise InvalidInput("a key's name is 1 to 100 printable characters", field="name")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InvalidInput("the expiry needs a time zone", field="expires_at")
        if expires_at <= runtime.clock.now():
            raise InvalidInput("the expiry must be in the future", field="expires_at")
    prefix = secrets.token_hex(6)
    token = f"mk_{prefix}_{secrets.token_urlsafe(32)}"
    with runtime.uow() as uow:
        if partner is not None:
            book = runtime.catalog.current(uow)
            if partner not in book.versions[-1].partners:
                known = ", ".join(book.versions[-1].partners) or "none"
                raise InvalidInput(
                    f"no partner {partner!r} in the programme (it has: {known})", field="partner"
                )
        uow.apikeys.add(name, prefix, _hash(token), sorted(set(scopes)), expires_at, partner)
    return token


def list_keys(runtime: Runtime) -> list[ApiKeyRecord]:
    """Every key, oldest first, revoked and expired ones included."""
    with runtime.uow() as uow:
        return uow.apikeys.all()


def revoke_keys(runtime: Runtime, name_or_id: str) -> tuple[list[ApiKeyRecord], list[int]]:
    """Revoke the key with this id, or else every key with this name: (the keys found, the ids revoked now,
    the others having been revoked before). No key found is `InvalidInput`."""
    key_id = int(name_or_id) if name_or_id.isdigit() and len(name_or_id) < 19 else None
    with runtime.uow() as uow:
        found = uow.apikeys.matching(name_or_id, key_id)
        if not found:
            raise InvalidInput(f"no API key has the id or name {name_or_id!r}", field="key")
        return found, uow.apikeys.revoke_ids([k.id for k in found], runtime.clock.now())


@dataclass(frozen=True)
class _Entry:
    """What the verifier keeps of a key between database reads."""

    read_at: float  # time.monotonic()
    name: str
    key_hash: str
    scopes: frozenset[str]
    revoked: bool
    expires_at: datetime | None
    partner: str | None = None


class KeyVerifier:
    """Checks bearer tokens; the database answer for a prefix is cached for `ttl` seconds (at most
    MAX_CACHE_SECONDS); an expiry is judged on every request against the clock."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, ttl: float = MAX_CACHE_SECONDS, clock: Clock | None = None
    ) -> None:
        if not 0 <= ttl <= MAX_CACHE_SECONDS:
            raise ValueError(f"a key's answer is cached between 0 and {MAX_CACHE_SECONDS} s")
        self.uow_factory = uow_factory
        self.ttl = ttl
        self.clock: Clock = clock or SystemClock()
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def verify_cached(self, token: str | None) -> Principal | None:
        """The answer from the cache alone; None when the database must be asked (`verify`)."""
        if not token:
            return self.verify(token)
        prefix = token.split("_", 2)[1] if token.count("_") >= 2 else ""
        with self._lock:
            cached = self._cache.get(prefix)
        if cached is None or time.monotonic() - cached.read_at >= self.ttl:
            return None
        return self.verify(token)

    def verify(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("send Authorization: Bearer <api key>", code="missing_api_key")
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "mk":
            raise Unauthorized("the API key is not valid", code="invalid_api_key")
        prefix = parts[1]
        token_hash = _hash(token)
        entry = self._lookup(prefix, token_hash)
        if entry is None:
            hmac.compare_digest(token_hash, _hash("mk_0_0"))  # same work for unknown keys
            raise Unauthorized("the API key is not valid", code="invalid_api_key")
        if not hmac.compare_digest(token_hash, entry.key_hash):
            raise Unauthorized("the API key is not valid", code="invalid_api_key")
        if entry.revoked:
            raise Unauthorized("this API key was revoked", code="key_revoked")
        if _expired(entry.expires_at, self.clock):
            raise Unauthorized("this API key has expired", code="key_expired")
        return Principal(key_name=entry.name, key_prefix=prefix, scopes=entry.scopes, partner=entry.partner)

    def _lookup(self, prefix: str, token_hash: str) -> _Entry | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(prefix)
        if cached is not None and now - cached.read_at < self.ttl:
            return cached
        with self.uow_factory() as uow:
            record = uow.apikeys.by_prefix(prefix)
            if record is None:
                return None
            entry = _Entry(
                now,
                record.name,
                record.key_hash,
                frozenset(record.scopes),
                record.revoked_at is not None,
                record.expires_at,
                record.partner,
            )
            if (
                hmac.compare_digest(token_hash, record.key_hash)
                and not entry.revoked
                and not _expired(entry.expires_at, self.clock)
            ):
                uow.apikeys.touch(prefix, self.clock.now())  # the key's holder is using it
        with self._lock:
            self._cache[prefix] = entry
        return entry


def _expired(expires_at: datetime | None, clock: Clock) -> bool:
    return expires_at is not None and expires_at <= clock.now()
