"""API keys: stored as a SHA-256 of the secret, looked up by their public prefix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

COLUMNS = "id, name, key_prefix, key_hash, scopes, created_at, expires_at, revoked_at, last_used_at, partner"


@dataclass(frozen=True)
class ApiKeyRecord:
    id: int
    name: str
    key_prefix: str
    key_hash: str
    scopes: tuple[str, ...]
    revoked_at: datetime | None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    partner: str | None = None  # the partner the key is bound to


def _record(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        name=row.name,
        key_prefix=row.key_prefix,
        key_hash=row.key_hash,
        scopes=tuple(row.scopes),
        revoked_at=row.revoked_at,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        partner=row.partner,
    )


class ApiKeyRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(
        self,
        name: str,
        prefix: str,
        key_hash: str,
        scopes: list[str],
        expires_at: datetime | None = None,
        partner: str | None = None,
    ) -> int:
        return int(
            self.connection.execute(
                text(
                    "INSERT INTO api_keys (name, key_prefix, key_hash, scopes, expires_at, partner) "
                    "VALUES (:n, :p, :h, :s, :e, :partner) RETURNING id"
                ),
                {"n": name, "p": prefix, "h": key_hash, "s": scopes, "e": expires_at, "partner": partner},
            ).scalar_one()
        )

    def by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        row = self.connection.execute(
            text(f"SELECT {COLUMNS} FROM api_keys WHERE key_prefix = :p"), {"p": prefix}
        ).first()
        return None if row is None else _record(row)

    def all(self) -> list[ApiKeyRecord]:
        rows = self.connection.execute(text(f"SELECT {COLUMNS} FROM api_keys ORDER BY id"))
        return [_record(row) for row in rows]

    def matching(self, name: str, key_id: int | None) -> list[ApiKeyRecord]:
        """The key with this id if there is one, else every key with this name."""
        if key_id is not None:
            row = self.connection.execute(
                text(f"SELECT {COLUMNS} FROM api_keys WHERE id = :i"), {"i": key_id}
            ).first()
            if row is not None:
                return [_record(row)]
        rows = self.connection.execute(
            text(f"SELECT {COLUMNS} FROM api_keys WHERE name = :n ORDER BY id"), {"n": name}
        )
        return [_record(row) for row in rows]

    def revoke_ids(self, ids: list[int], at: datetime) -> list[int]:
        """Revoke those of these keys not revoked yet; the ids revoked now."""
        rows = self.connection.execute(
            text(
                "UPDATE api_keys SET revoked_at = :at WHERE id = ANY(:ids) AND revoked_at IS NULL RETURNING id"
            ),
            {"ids": ids, "at": at},
        )
        return sorted(int(i) for i in rows.scalars())

    def touch(self, prefix: str, at: datetime) -> None:
        """Record a use, at most once a minute (most calls change nothing)."""
        self.connection.execute(
            text(
                "UPDATE api_keys SET last_used_at = :at WHERE key_prefix = :p "
                "AND (last_used_at IS NULL OR last_used_at < :at - interval '1 minute')"
            ),
            {"p": prefix, "at": at},
        )
