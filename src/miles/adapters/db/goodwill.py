"""Goodwill adjustments: applied at once (within the agent limit) or waiting for a supervisor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class AdjustmentRecord:
    id: int
    member_id: int
    member_number: str
    given_name: str
    family_name: str
    miles: int
    reason_code: str
    comment: str
    status: str
    requested_by: str
    requested_by_agent_id: int | None
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    transfer_id: int | None


_SELECT = """
    SELECT g.id, g.member_id, m.member_number, m.given_name, m.family_name, g.miles, g.reason_code,
           g.comment, g.status, g.requested_by, g.requested_by_agent_id, g.requested_at, g.decided_by,
           g.decided_at, g.decision_note, g.transfer_id
    FROM goodwill_adjustments g JOIN members m ON m.id = g.member_id
"""


class GoodwillRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(
        self,
        member_id: int,
        miles: int,
        reason_code: str,
        comment: str,
        status: str,
        requested_by: str,
        requested_by_agent_id: int | None,
        requested_at: datetime,
        transfer_id: int | None,
    ) -> int:
        return int(
            self.connection.execute(
                text(
                    """
                    INSERT INTO goodwill_adjustments (member_id, miles, reason_code, comment, status,
                        requested_by, requested_by_agent_id, requested_at, transfer_id)
                    VALUES (:m, :miles, :r, :c, :s, :by, :agent, :at, :t) RETURNING id
                    """
                ),
                {
                    "m": member_id,
                    "miles": miles,
                    "r": reason_code,
                    "c": comment,
                    "s": status,
                    "by": requested_by,
                    "agent": requested_by_agent_id,
                    "at": requested_at,
                    "t": transfer_id,
                },
            ).scalar_one()
        )

    def get(self, adjustment_id: int, lock: bool = False) -> AdjustmentRecord | None:
        suffix = " FOR UPDATE OF g" if lock else ""
        row = self.connection.execute(
            text(f"{_SELECT} WHERE g.id = :id{suffix}"), {"id": adjustment_id}
        ).first()
        return None if row is None else AdjustmentRecord(**row._mapping)

    def decide(
        self,
        adjustment_id: int,
        status: str,
        decided_by: str,
        decided_by_agent_id: int | None,
        decided_at: datetime,
        note: str | None,
        transfer_id: int | None,
    ) -> None:
        self.connection.execute(
            text(
                """
                UPDATE goodwill_adjustments SET status = :s, decided_by = :by, decided_by_agent_id = :agent,
                       decided_at = :at, decision_note = :note, transfer_id = :t
                WHERE id = :id AND status = 'PENDING'
                """
            ),
            {
                "id": adjustment_id,
                "s": status,
                "by": decided_by,
                "agent": decided_by_agent_id,
                "at": decided_at,
                "note": note,
                "t": transfer_id,
            },
        )

    def applied_between(self, member_id: int, since: datetime, until: datetime) -> int:
        """The goodwill miles applied at once (without a supervisor) to a member in [since, until)."""
        return int(
            self.connection.execute(
                text(
                    "SELECT coalesce(sum(miles), 0) FROM goodwill_adjustments WHERE member_id = :m "
                    "AND status = 'APPLIED' AND requested_at >= :since AND requested_at < :until"
                ),
                {"m": member_id, "since": since, "until": until},
            ).scalar_one()
        )

    def pending(self, limit: int) -> list[AdjustmentRecord]:
        rows = self.connection.execute(
            text(f"{_SELECT} WHERE g.status = 'PENDING' ORDER BY g.id LIMIT :n"), {"n": limit}
        )
        return [AdjustmentRecord(**r._mapping) for r in rows]

    def for_member(self, member_id: int, limit: int) -> list[AdjustmentRecord]:
        rows = self.connection.execute(
            text(f"{_SELECT} WHERE g.member_id = :m ORDER BY g.id DESC LIMIT :n"),
            {"m": member_id, "n": limit},
        )
        return [AdjustmentRecord(**r._mapping) for r in rows]
