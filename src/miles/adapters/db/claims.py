"""Missing-miles claims: which agent filed which coupon's accrual, and why; a claim above the agent
limit waits (PENDING, with its coupon) until a supervisor approves or rejects it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class ClaimRecord:
    id: int
    member_id: int
    member_number: str
    accrual_id: int | None
    status: str
    ticket_number: str
    coupon_number: int
    flight: str
    origin: str
    destination: str
    departure_date: date
    award_miles: int
    filed_by: str
    filed_by_agent_id: int | None
    comment: str | None
    created_at: datetime
    coupon: dict[str, Any] | None  # the coupon as the accrual API's body, while it waits
    request_digest: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


# a credited claim reads its coupon from its accrual; a waiting or rejected one from the coupon it keeps
_SELECT = """
    SELECT c.id, c.member_id, m.member_number, c.accrual_id, c.status,
           coalesce(a.ticket_number, c.coupon ->> 'ticket_number') AS ticket_number,
           coalesce(a.coupon_number, (c.coupon ->> 'coupon_number')::int) AS coupon_number,
           coalesce(a.marketing_carrier || a.flight_number,
                    (c.coupon ->> 'marketing_carrier') || (c.coupon ->> 'flight_number')) AS flight,
           coalesce(a.origin, c.coupon ->> 'origin') AS origin,
           coalesce(a.destination, c.coupon ->> 'destination') AS destination,
           coalesce(a.departure_date, (c.coupon ->> 'departure_date')::date) AS departure_date,
           coalesce(a.award_miles, c.held_miles) AS award_miles, c.filed_by, c.filed_by_agent_id,
           c.comment, c.created_at, c.coupon, coalesce(c.request_digest, a.request_digest) AS request_digest,
           c.decided_by, c.decided_at, c.decision_note
    FROM missing_miles_claims c LEFT JOIN accruals a ON a.id = c.accrual_id JOIN members m ON m.id = c.member_id
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
        created_at: datetime,
    ) -> int:
        return int(
            self.connection.execute(
                text(
                    """
                    INSERT INTO missing_miles_claims (member_id, accrual_id, filed_by, filed_by_agent_id,
                                                      comment, created_at)
                    VALUES (:m, :a, :by, :agent, :c, :at) RETURNING id
                    """
                ),
                {
                    "m": member_id,
                    "a": accrual_id,
                    "by": filed_by,
                    "agent": filed_by_agent_id,
                    "c": comment,
                    "at": created_at,
                },
            ).scalar_one()
        )

    def add_waiting(
        self,
        member_id: int,
        coupon: dict[str, Any],
        request_digest: str,
        held_miles: int,
        filed_by: str,
        filed_by_agent_id: int | None,
        comment: str | None,
        created_at: datetime,
    ) -> int:
        return int(
            self.connection.execute(
                text(
                    """
                    INSERT INTO missing_miles_claims (member_id, status, coupon, request_digest, held_miles,
                        filed_by, filed_by_agent_id, comment, created_at)
                    VALUES (:m, 'PENDING', CAST(:coupon AS jsonb), :d, :held, :by, :agent, :c, :at)
                    RETURNING id
                    """
                ),
                {
                    "m": member_id,
                    "coupon": json.dumps(coupon),
                    "d": request_digest,
                    "held": held_miles,
                    "by": filed_by,
                    "agent": filed_by_agent_id,
                    "c": comment,
                    "at": created_at,
                },
            ).scalar_one()
        )

    def decide(
        self,
        claim_id: int,
        status: str,
        accrual_id: int | None,
        decided_by: str,
        decided_by_agent_id: int | None,
        decided_at: datetime,
        note: str | None,
    ) -> None:
        self.connection.execute(
            text(
                """
                UPDATE missing_miles_claims SET status = :s, accrual_id = :a, decided_by = :by,
                       decided_by_agent_id = :agent, decided_at = :at, decision_note = :note
                WHERE id = :id AND status = 'PENDING'
                """
            ),
            {
                "id": claim_id,
                "s": status,
                "a": accrual_id,
                "by": decided_by,
                "agent": decided_by_agent_id,
                "at": decided_at,
                "note": note,
            },
        )

    def get(self, claim_id: int, lock: bool = False) -> ClaimRecord | None:
        suffix = " FOR UPDATE OF c" if lock else ""
        row = self.connection.execute(text(f"{_SELECT} WHERE c.id = :id{suffix}"), {"id": claim_id}).first()
        return None if row is None else ClaimRecord(**row._mapping)

    def waiting_for_coupon(self, ticket_number: str, coupon_number: int) -> ClaimRecord | None:
        row = self.connection.execute(
            text(
                f"{_SELECT} WHERE c.status = 'PENDING' AND c.coupon ->> 'ticket_number' = :t "
                "AND (c.coupon ->> 'coupon_number')::int = :n"
            ),
            {"t": ticket_number, "n": coupon_number},
        ).first()
        return None if row is None else ClaimRecord(**row._mapping)

    def lock_coupon(self, ticket_number: str, coupon_number: int) -> None:
        """Serialise two claims for one coupon until this transaction ends."""
        self.connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('miles.claim-coupon:' || :t || '/' || :n))"),
            {"t": ticket_number, "n": str(coupon_number)},
        )

    def pending(self, limit: int) -> list[ClaimRecord]:
        rows = self.connection.execute(
            text(f"{_SELECT} WHERE c.status = 'PENDING' ORDER BY c.id LIMIT :n"), {"n": limit}
        )
        return [ClaimRecord(**r._mapping) for r in rows]

    def for_member(self, member_number: str, limit: int) -> list[ClaimRecord]:
        rows = self.connection.execute(
            text(f"{_SELECT} WHERE m.member_number = :n ORDER BY c.id DESC LIMIT :l"),
            {"n": member_number, "l": limit},
        )
        return [ClaimRecord(**r._mapping) for r in rows]
