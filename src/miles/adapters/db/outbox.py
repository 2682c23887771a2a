"""The transactional outbox: jobs are written in the same transaction as the change that causes them,
and sent to the queue only after it commits (by the relay)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from miles.observability import request_id


@dataclass(frozen=True)
class OutboxRow:
    id: int
    task: str
    payload: dict[str, Any]
    request_id: str | None = None


class OutboxRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.added = 0

    def add(self, task: str, payload: dict[str, Any]) -> int:
        self.added += 1
        return int(
            self.connection.execute(
                text(
                    "INSERT INTO task_outbox (task, payload, request_id) VALUES (:t, CAST(:p AS jsonb), :r) "
                    "RETURNING id"
                ),
                {"t": task, "p": json.dumps(payload), "r": request_id.get()},
            ).scalar_one()
        )

    def claim(self, limit: int = 100) -> list[OutboxRow]:
        """Rows not yet sent, locked so that two relays never send the same row at the same time."""
        rows = self.connection.execute(
            text(
                "SELECT id, task, payload, request_id FROM task_outbox WHERE dispatched_at IS NULL "
                "ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
            ),
            {"n": limit},
        )
        return [OutboxRow(r.id, r.task, r.payload, r.request_id) for r in rows]

    def mark_sent(self, ids: list[int]) -> None:
        if ids:
            self.connection.execute(
                text("UPDATE task_outbox SET dispatched_at = now() WHERE id = ANY(:ids)"), {"ids": ids}
            )
