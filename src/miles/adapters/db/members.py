"""Members: numbers, identity, standing (tier, qualifying totals) and their award account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, Row, text

from miles.domain.accrual import MemberStanding
from miles.domain.tiers import Tier


@dataclass(frozen=True)
class MemberRecord:
    id: int
    member_number: str
    given_name: str
    family_name: str
    email: str
    birth_date: date | None
    account_id: int
    balance: int
    pending: int
    standing: MemberStanding  # qualifying totals of the year asked for
    qualifying_spend_usd: Decimal
    created_at: datetime


_SELECT = """
    SELECT m.id, m.member_number, m.given_name, m.family_name, m.email, m.birth_date, m.tier,
           m.tier_valid_until, m.lifetime_tier, m.lifetime_status_miles, m.created_at,
           a.id AS account_id, a.balance, a.pending,
           coalesce(q.status_miles, 0) AS q_miles, coalesce(q.segments, 0) AS q_segments,
           coalesce(q.spend_usd, 0) AS q_spend
    FROM members m
    JOIN accounts a ON a.member_id = m.id
    LEFT JOIN qualifying_totals q ON q.member_id = m.id AND q.year = :year
    WHERE m.member_number = :number
"""


def _record(row: Row) -> MemberRecord:  # type: ignore[type-arg]
    return MemberRecord(
        id=row.id,
        member_number=row.member_number,
        given_name=row.given_name,
        family_name=row.family_name,
        email=row.email,
        birth_date=row.birth_date,
        account_id=row.account_id,
        balance=row.balance,
        pending=row.pending,
        standing=MemberStanding(
            tier=Tier[row.tier],
            tier_valid_until=row.tier_valid_until,
            lifetime_tier=Tier[row.lifetime_tier],
            lifetime_status_miles=row.lifetime_status_miles,
            qualifying_status_miles=row.q_miles,
            qualifying_segments=row.q_segments,
        ),
        qualifying_spend_usd=row.q_spend,
        created_at=row.created_at,
    )


class MemberRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def next_sequence(self) -> int:
        return int(self.connection.execute(text("SELECT nextval('member_number_seq')")).scalar_one())

    def add(
        self, member_number: str, given_name: str, family_name: str, email: str, birth_date: date | None
    ) -> int:
        return int(
            self.connection.execute(
                text(
                    """
                    WITH m AS (
                        INSERT INTO members (member_number, given_name, family_name, email, birth_date)
                        VALUES (:n, :g, :f, :e, :b) RETURNING id
                    ), a AS (
                        INSERT INTO accounts (code, member_id, allow_negative)
                        SELECT 'member:' || :n, id, true FROM m
                    )
                    SELECT id FROM m
                    """
                ),
                {"n": member_number, "g": given_name, "f": family_name, "e": email, "b": birth_date},
            ).scalar_one()
        )

    def get(self, member_number: str, year: int) -> MemberRecord | None:
        row = self.connection.execute(text(_SELECT), {"number": member_number, "year": year}).first()
        return None if row is None else _record(row)

    def lock(self, member_number: str, year: int) -> MemberRecord | None:
        """The member, locked for the rest of the transaction: every write to a member's account,
        lots or standing takes this lock first."""
        return self.lock_many([member_number], year).get(member_number)

    def lock_id(self, member_id: int) -> None:
        """Lock a member whose record the caller already holds (its ids never change)."""
        self.connection.execute(text("SELECT id FROM members WHERE id = :id FOR UPDATE"), {"id": member_id})

    def lock_many(self, member_numbers: list[str], year: int) -> dict[str, MemberRecord]:
        """Lock the members in id order, then read them: a second statement, so that what it reads
        (balances, totals) is what the previous lock holder committed, not a snapshot from before."""
        self.connection.execute(
            text("SELECT id FROM members WHERE member_number = ANY(:numbers) ORDER BY id FOR UPDATE"),
            {"numbers": member_numbers},
        )
        rows = self.connection.execute(
            text(_SELECT.replace("m.member_number = :number", "m.member_number = ANY(:numbers)")),
            {"numbers": member_numbers, "year": year},
        )
        return {r.member_number: _record(r) for r in rows}

    def qualifying(self, member_ids: list[int], years: list[int]) -> dict[tuple[int, int], tuple[int, int]]:
        rows = self.connection.execute(
            text(
                "SELECT member_id, year, status_miles, segments FROM qualifying_totals "
                "WHERE member_id = ANY(:ids) AND year = ANY(:years)"
            ),
            {"ids": member_ids, "years": years},
        )
        return {(r.member_id, r.year): (r.status_miles, r.segments) for r in rows}

    def count(self) -> int:
        return int(self.connection.execute(text("SELECT count(*) FROM members")).scalar_one())
