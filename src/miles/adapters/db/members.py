"""Members: numbers, identity, standing (tier, qualifying totals of a period) and their award account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, Row, text


@dataclass(frozen=True)
class TierState:
    """The member row's standing: tier codes, the lifetime metric's total, the rolling period's start."""

    tier: str
    tier_valid_until: date | None
    lifetime_tier: str
    lifetime_total: Decimal
    period_start: date


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
    standing: TierState
    totals_period: date  # the period whose totals came with the record (the member's own if none asked)
    totals: tuple[Decimal, ...]  # that period's metrics, in the programme's order (() for none yet)
    created_at: datetime
    last_activity_date: date | None = None
    partner_pending: int = 0  # partner miles still pending (read by `get` only)


_SELECT = """
    SELECT m.id, m.member_number, m.given_name, m.family_name, m.email, m.birth_date, m.tier,
           m.tier_valid_until, m.lifetime_tier, m.lifetime_total, m.period_start, m.created_at,
           m.last_activity_date,
           a.id AS account_id, a.balance, a.pending,
           coalesce(CAST(:period AS date), m.period_start) AS q_period, q.metrics AS q_metrics
    FROM members m
    JOIN accounts a ON a.member_id = m.id
    LEFT JOIN qualifying_totals q ON q.member_id = m.id AND q.period_start = coalesce(CAST(:period AS date), m.period_start)
    WHERE m.member_number = :number
"""
# the read of one member also sums their partner miles still pending (the write paths need not)
_SELECT_WITH_PENDING = _SELECT.replace(
    "a.id AS account_id,",
    "(SELECT coalesce(sum(p.miles), 0) FROM partner_activities p WHERE p.member_id = m.id AND p.status = 'pending')"
    " AS partner_pending, a.id AS account_id,",
)


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
        standing=TierState(
            tier=row.tier,
            tier_valid_until=row.tier_valid_until,
            lifetime_tier=row.lifetime_tier,
            lifetime_total=row.lifetime_total,
            period_start=row.period_start,
        ),
        totals_period=row.q_period,
        totals=tuple(row.q_metrics or ()),
        created_at=row.created_at,
        last_activity_date=row.last_activity_date,
        partner_pending=int(getattr(row, "partner_pending", 0)),
    )


class MemberRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def next_sequence(self) -> int:
        return int(self.connection.execute(text("SELECT nextval('member_number_seq')")).scalar_one())

    def add(
        self,
        member_number: str,
        given_name: str,
        family_name: str,
        email: str,
        birth_date: date | None,
        tier: str,
        period_start: date,
    ) -> int:
        """A new member at the base tier `tier`, their first rolling period starting `period_start`."""
        return int(
            self.connection.execute(
                text(
                    """
                    WITH m AS (
                        INSERT INTO members (member_number, given_name, family_name, email, birth_date, tier,
                                             lifetime_tier, period_start)
                        VALUES (:n, :g, :f, :e, :b, :t, :t, :p) RETURNING id
                    ), a AS (
                        INSERT INTO accounts (code, member_id, allow_negative)
                        SELECT 'member:' || :n, id, true FROM m
                    )
                    SELECT id FROM m
                    """
                ),
                {
                    "n": member_number,
                    "g": given_name,
                    "f": family_name,
                    "e": email,
                    "b": birth_date,
                    "t": tier,
                    "p": period_start,
                },
            ).scalar_one()
        )

    def get(self, member_number: str, period: date | None = None) -> MemberRecord | None:
        """The member with the totals of the qualification period starting `period` (None: of their
        own rolling period)."""
        row = self.connection.execute(
            text(_SELECT_WITH_PENDING), {"number": member_number, "period": period}
        ).first()
        return None if row is None else _record(row)

    def lock(self, member_number: str, period: date | None = None) -> MemberRecord | None:
        """The member, locked for the rest of the transaction: every write to a member's account,
        lots or standing takes this lock first."""
        return self.lock_many([member_number], period).get(member_number)

    def lock_id(self, member_id: int) -> None:
        """Lock a member whose record the caller already holds (its ids never change)."""
        self.connection.execute(text("SELECT id FROM members WHERE id = :id FOR UPDATE"), {"id": member_id})

    def lock_many(
        self, member_numbers: list[str], period: date | None = None, lock: bool = True
    ) -> dict[str, MemberRecord]:
        """Lock the members in id order, then read them: a second statement, so that what it reads
        (balances, totals) is what the previous lock holder committed, not a snapshot from before.
        Without `lock`, only read them (a quote)."""
        if lock:
            self.connection.execute(
                text("SELECT id FROM members WHERE member_number = ANY(:numbers) ORDER BY id FOR UPDATE"),
                {"numbers": member_numbers},
            )
        rows = self.connection.execute(
            text(_SELECT.replace("m.member_number = :number", "m.member_number = ANY(:numbers)")),
            {"numbers": member_numbers, "period": period},
        )
        return {r.member_number: _record(r) for r in rows}

    def lock_accounts(self, member_numbers: list[str]) -> dict[str, tuple[int, int]]:
        """Lock the members in id order (one statement); (member id, award account id) by member number.
        For writes that touch a member's account and lots only, not their standing."""
        rows = self.connection.execute(
            text(
                "SELECT m.id, m.member_number, a.id AS account_id FROM members m "
                "JOIN accounts a ON a.member_id = m.id WHERE m.member_number = ANY(:numbers) "
                "ORDER BY m.id FOR UPDATE OF m"
            ),
            {"numbers": member_numbers},
        )
        return {r.member_number: (int(r.id), int(r.account_id)) for r in rows}

    def promotion_facts(self, member_ids: list[int]) -> list[tuple[int, str, datetime, date | None]]:
        """(id, tier, enrolled at, last activity date) of the members: what a promotion's audience asks."""
        rows = self.connection.execute(
            text("SELECT id, tier, created_at, last_activity_date FROM members WHERE id = ANY(:ids)"),
            {"ids": member_ids},
        )
        return [(int(r.id), r.tier, r.created_at, r.last_activity_date) for r in rows]

    def totals(
        self, member_ids: list[int], periods: list[date]
    ) -> dict[tuple[int, date], tuple[Decimal, ...]]:
        """The members' totals of the periods starting on `periods`, by (member id, period start)."""
        rows = self.connection.execute(
            text(
                "SELECT member_id, period_start, metrics FROM qualifying_totals "
                "WHERE member_id = ANY(:ids) AND period_start = ANY(:periods)"
            ),
            {"ids": member_ids, "periods": periods},
        )
        return {(r.member_id, r.period_start): tuple(r.metrics) for r in rows}

    def tiers_held(self) -> list[str]:
        """Every tier code some member holds (as tier or lifetime tier)."""
        rows = self.connection.execute(
            text("SELECT tier FROM members UNION SELECT lifetime_tier FROM members")
        ).scalars()
        return sorted(rows)

    def count(self) -> int:
        return int(self.connection.execute(text("SELECT count(*) FROM members")).scalar_one())
