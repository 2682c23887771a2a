"""API keys with scopes: created by operators, verified on every request (cached briefly)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from miles.adapters.db.unit_of_work import UnitOfWork, UnitOfWorkFactory
from miles.domain.errors import Forbidden, InvalidInput, Unauthorized

SCOPES = ("accrual:write", "member:read", "member:write", "redemption:write", "adjustment:write", "admin")


@dataclass(frozen=True)
class Principal:
    key_name: str
    key_prefix: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes and "admin" not in self.scopes:
            raise Forbidden(f"this API key lacks the scope {scope}", code="missing_scope")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(uow: UnitOfWork, name: str, scopes: list[str]) -> str:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(
            f"scopes must be among {', '.join(SCOPES)}; got {unknown or 'none'}", field="scope"
        )
    prefix = secrets.token_hex(6)
    token = f"mk_{prefix}_{secrets.token_urlsafe(32)}"
    uow.apikeys.add(name, prefix, _hash(token), sorted(set(scopes)))
    return token


class KeyVerifier:
    """Checks bearer tokens; the database answer for a prefix is cached for `ttl` seconds."""

    def __init__(self, uow_factory: UnitOfWorkFactory, ttl: float = 10.0) -> None:
        self.uow_factory = uow_factory
        self.ttl = ttl
        self._cache: dict[str, tuple[float, str, str, frozenset[str], bool]] = {}
        self._lock = threading.Lock()

    def verify_cached(self, token: str | None) -> Principal | None:
        """The answer from the cache alone; None when the database must be asked (`verify`)."""
        if not token:
            return self.verify(token)
        prefix = token.split("_", 2)[1] if token.count("_") >= 2 else ""
        with self._lock:
            cached = self._cache.get(prefix)
        if cached is None or time.monotonic() - cached[0] >= self.ttl:
            return None
        return self.verify(token)

    def verify(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("send Authorization: Bearer <api key>", code="missing_api_key")
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "mk":
            raise Unauthorized("the API key is not valid", code="invalid_api_key")
        prefix = parts[1]
        entry = self._lookup(prefix)
        if entry is None:
            hmac.compare_digest(_hash(token), _hash("mk_0_0"))  # same work for unknown keys
            raise Unauthorized("the API key is not valid", code="invalid_api_key")
        name, key_hash, scopes, revoked = entry
        if not hmac.compare_digest(_hash(token), key_hash) or revoked:
            raise Unauthorized("the API key is not valid", code="invalid_api_key")
        return Principal(key_name=name, key_prefix=prefix, scopes=scopes)

    def _lookup(self, prefix: str) -> tuple[str, str, frozenset[str], bool] | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(prefix)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1], cached[2], cached[3], cached[4]
        with self.uow_factory() as uow:
            record = uow.apikeys.by_prefix(prefix)
        if record is None:
            return None
        value = (record.name, record.key_hash, frozenset(record.scopes), record.revoked_at is not None)
        with self._lock:
            self._cache[prefix] = (now, *value)
        return value
