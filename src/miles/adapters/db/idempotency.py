"""Idempotency keys for writes other than coupons: the first response is kept and replayed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class StoredResponse:
    request_digest: str
    status_code: int
    response: dict[str, Any]


class IdempotencyRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(self, scope: str, key: str, digest: str) -> StoredResponse | None:
        """Reserve (scope, key) for this transaction; if another request already holds it, its answer.

        A concurrent holder makes this wait until it commits or rolls back, so a replay never runs
        the use case twice."""
        inserted = self.connection.execute(
            text(
                "INSERT INTO idempotency_keys (scope, key, request_digest, status_code, response) "
                "VALUES (:s, :k, :d, 0, '{}'::jsonb) ON CONFLICT DO NOTHING RETURNING 1"
            ),
            {"s": scope, "k": key, "d": digest},
        ).scalar()
        if inserted:
            return None
        row = self.connection.execute(
            text(
                "SELECT request_digest, status_code, response FROM idempotency_keys "
                "WHERE scope = :s AND key = :k"
            ),
            {"s": scope, "k": key},
        ).one()
        return StoredResponse(row.request_digest, row.status_code, row.response)

    def find(self, scope: str, key: str) -> StoredResponse | None:
        """The answer recorded under (scope, key) by a committed request, without reserving the key."""
        row = self.connection.execute(
            text(
                "SELECT request_digest, status_code, response FROM idempotency_keys "
                "WHERE scope = :s AND key = :k AND status_code <> 0"
            ),
            {"s": scope, "k": key},
        ).first()
        return None if row is None else StoredResponse(row.request_digest, row.status_code, row.response)

    def store(self, scope: str, key: str, status_code: int, response: dict[str, Any]) -> None:
        self.connection.execute(
            text(
                "UPDATE idempotency_keys SET status_code = :c, response = CAST(:r AS jsonb) "
                "WHERE scope = :s AND key = :k"
            ),
            {"s": scope, "k": key, "c": status_code, "r": json.dumps(response)},
        )
