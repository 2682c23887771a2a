"""Missing-miles claims: which agent filed which coupon's accrual, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class ClaimRecord:
    id: int
    member_number: str
    accrual_id: int
    ticket_number: str
    coupon_number: int
    flight: str
    origin: str
    destination: str
    departure_date: date
    award_miles: int
    filed_by: str
    comment: str | None
    created_at: datetime


_SELECT = """
    SELECT c.id, m.member_number, c.accrual_id, a.ticket_number, a.coupon_number,
           a.marketing_carrier || a.flight_number AS flight, a.origin, a.destination, a.departure_date,
           a.award_miles, c.filed_by, c.comment, c.created_at
    FROM missing_miles_claims c JOIN accruals a ON a.id = c.accrual_id JOIN members m ON m.id = c.member_id
"""


class ClaimRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(
        self,
        member_id: int,
        accrual_id: int,
        filed_by: str,
        filed_by_agent_id: int | None,
        comment: str | None,
        request_key: str | None,
        created_at: datetime,
    ) -> int:
        return int(
            self.connection.execute(
                text(
                    """
                    INSERT INTO missing_miles_claims (member_id, accrual_id, filed_by, filed_by_agent_id,
                                                      comment, request_key, created_at)
                    VALUES (:m, :a, :by, :agent, :c, :k, :at) RETURNING id
                    """
                ),
                {
                    "m": member_id,
                    "a": accrual_id,
                    "by": filed_by,
                    "agent": filed_by_agent_id,
                    "c": comment,
                    "k": request_key,
                    "at": created_at,
                },
            ).scalar_one()
        )

    def get(self, claim_id: int) -> ClaimRecord | None:
        row = self.connection.execute(text(f"{_SELECT} WHERE c.id = :id"), {"id": claim_id}).first()
        return None if row is None else ClaimRecord(**row._mapping)

    def by_request_key(self, key: str) -> ClaimRecord | None:
        row = self.connection.execute(text(f"{_SELECT} WHERE c.request_key = :k"), {"k": key}).first()
        return None if row is None else ClaimRecord(**row._mapping)

    def lock_request_key(self, key: str) -> None:
        self.connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('miles.claim:' || :k))"), {"k": key}
        )

    def for_member(self, member_number: str, limit: int) -> list[ClaimRecord]:
        rows = self.connection.execute(
            text(f"{_SELECT} WHERE m.member_number = :n ORDER BY c.id DESC LIMIT :l"),
            {"n": member_number, "l": limit},
        )
        return [ClaimRecord(**r._mapping) for r in rows]
