"""Idempotency keys: one row per (owner, operation, key), claimed by the request that holds it and
completed with the answer that replays it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class StoredKey:
    request_digest: str
    answer: dict[str, Any] | None  # None while the request that claimed it has not completed


_STORED = (
    "SELECT request_digest, response, completed_at IS NOT NULL AS completed FROM idempotency_keys "
    "WHERE owner = :o AND operation = :op AND key = :k"
)


def _stored(row: Any) -> StoredKey:
    return StoredKey(row.request_digest, row.response if row.completed else None)


class IdempotencyRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(self, owner: str, operation: str, key: str, digest: str) -> StoredKey | None:
        """Reserve the key for this transaction (None), or what holds it already.

        A concurrent transaction claiming the same key makes this INSERT wait until it commits or
        rolls back, so two requests in flight never both get None."""
        inserted = self.connection.execute(
            text(
                "INSERT INTO idempotency_keys (owner, operation, key, request_digest, response) "
                "VALUES (:o, :op, :k, :d, '{}'::jsonb) ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {"o": owner, "op": operation, "k": key, "d": digest},
        ).scalar()
        if inserted:
            return None
        row = self.connection.execute(
            text(_STORED + " FOR UPDATE"), {"o": owner, "op": operation, "k": key}
        ).one()
        return _stored(row)

    def take_over(self, owner: str, operation: str, key: str, digest: str, stale_seconds: float) -> bool:
        """Claim a key whose holder never completed it for `stale_seconds` (its process stopped)."""
        return bool(
            self.connection.execute(
                text(
                    "UPDATE idempotency_keys SET claimed_at = now() "
                    "WHERE owner = :o AND operation = :op AND key = :k AND request_digest = :d "
                    "AND completed_at IS NULL AND claimed_at < now() - make_interval(secs => :s) "
                    "RETURNING 1"
                ),
                {"o": owner, "op": operation, "k": key, "d": digest, "s": stale_seconds},
            ).scalar()
        )

    def find(self, owner: str, operation: str, key: str) -> StoredKey | None:
        """What holds the key now, without reserving it."""
        row = self.connection.execute(text(_STORED), {"o": owner, "op": operation, "k": key}).first()
        return None if row is None else _stored(row)

    def complete(self, owner: str, operation: str, key: str, answer: dict[str, Any]) -> None:
        self.connection.execute(
            text(
                "UPDATE idempotency_keys SET response = CAST(:r AS jsonb), completed_at = now() "
                "WHERE owner = :o AND operation = :op AND key = :k"
            ),
            {"o": owner, "op": operation, "k": key, "r": json.dumps(answer)},
        )

    def release(self, owner: str, operation: str, key: str) -> None:
        """Give up a claim whose request failed, so that it can be sent again."""
        self.connection.execute(
            text(
                "DELETE FROM idempotency_keys "
                "WHERE owner = :o AND operation = :op AND key = :k AND completed_at IS NULL"
            ),
            {"o": owner, "op": operation, "k": key},
        )
