"""API keys: stored as a SHA-256 of the secret, looked up by their public prefix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class ApiKeyRecord:
    id: int
    name: str
    key_prefix: str
    key_hash: str
    scopes: tuple[str, ...]
    revoked_at: datetime | None


class ApiKeyRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, name: str, prefix: str, key_hash: str, scopes: list[str]) -> int:
        return int(
            self.connection.execute(
                text(
                    "INSERT INTO api_keys (name, key_prefix, key_hash, scopes) VALUES (:n, :p, :h, :s) "
                    "RETURNING id"
                ),
                {"n": name, "p": prefix, "h": key_hash, "s": scopes},
            ).scalar_one()
        )

    def by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        row = self.connection.execute(
            text(
                "SELECT id, name, key_prefix, key_hash, scopes, revoked_at FROM api_keys WHERE key_prefix = :p"
            ),
            {"p": prefix},
        ).first()
        if row is None:
            return None
        return ApiKeyRecord(row.id, row.name, row.key_prefix, row.key_hash, tuple(row.scopes), row.revoked_at)

    def revoke(self, prefix: str) -> bool:
        result = self.connection.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE key_prefix = :p AND revoked_at IS NULL"),
            {"p": prefix},
        )
        return result.rowcount == 1
