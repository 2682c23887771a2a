"""The audit trail: who changed what, when and why. Append-only (the database refuses updates)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    member_number: str | None
    subject: str | None
    reason: str | None
    details: dict[str, Any]


_SELECT = """
    SELECT l.id, l.at, l.actor, l.action, m.member_number, l.subject, l.reason, l.details
    FROM audit_log l LEFT JOIN members m ON m.id = l.member_id
"""


class AuditRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(
        self,
        at: datetime,
        actor: str,
        agent_id: int | None,
        action: str,
        member_id: int | None,
        subject: str | None,
        reason: str | None,
        details: dict[str, Any],
    ) -> int:
        return int(
            self.connection.execute(
                text(
                    "INSERT INTO audit_log (at, actor, agent_id, action, member_id, subject, reason, details) "
                    "VALUES (:at, :actor, :agent, :action, :member, :subject, :reason, CAST(:details AS jsonb)) "
                    "RETURNING id"
                ),
                {
                    "at": at,
                    "actor": actor,
                    "agent": agent_id,
                    "action": action,
                    "member": member_id,
                    "subject": subject,
                    "reason": reason,
                    "details": json.dumps(details, default=str),
                },
            ).scalar_one()
        )

    def for_member(self, member_id: int, limit: int) -> list[AuditRecord]:
        rows = self.connection.execute(
            text(f"{_SELECT} WHERE l.member_id = :m ORDER BY l.id DESC LIMIT :n"),
            {"m": member_id, "n": limit},
        )
        return [AuditRecord(**r._mapping) for r in rows]

    def page(
        self,
        before_id: int | None,
        actor: str | None,
        action: str | None,
        member_number: str | None,
        limit: int,
    ) -> list[AuditRecord]:
        rows = self.connection.execute(
            text(
                f"""{_SELECT}
                WHERE (CAST(:before AS bigint) IS NULL OR l.id < :before)
                  AND (CAST(:actor AS text) IS NULL OR lower(l.actor) = lower(:actor))
                  AND (CAST(:action AS text) IS NULL OR l.action LIKE :action || '%')
                  AND (CAST(:member AS text) IS NULL OR m.member_number = :member)
                ORDER BY l.id DESC LIMIT :n
                """
            ),
            {"before": before_id, "actor": actor, "action": action, "member": member_number, "n": limit},
        )
        return [AuditRecord(**r._mapping) for r in rows]
