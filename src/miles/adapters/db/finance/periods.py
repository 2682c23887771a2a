"""Closed months (append-only): the period's figures, its lines (earn month x source) and its cohorts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, text

from miles.domain.finance.breakage import RateBasis
from miles.domain.finance.close import CohortRevenue, LotLine
from miles.domain.finance.liability import Source


@dataclass(frozen=True)
class PeriodRecord:
    month: date
    currency: str
    value_per_mile: Decimal
    breakage_rate: Decimal
    breakage_basis: str
    issued_flights: int
    issued_partners: int
    issued_promotions: int
    issued_goodwill: int
    issued_claims: int
    issued_purchases: int
    issued_total: int
    miles_redeemed: int
    miles_expired: int
    lots_outstanding: int
    debts: int
    miles_outstanding: int
    miles_held: int
    ledger_balance: int
    deferred_opening: Decimal
    deferred_in_month: Decimal
    revenue_recognised: Decimal
    deferred_closing: Decimal
    opening_computed: bool
    closed_at: datetime
    closed_by: str

    def issued(self, source: Source) -> int:
        return int(getattr(self, f"issued_{source.value}"))


_COLUMNS = ", ".join(PeriodRecord.__dataclass_fields__)
_VALUES = ", ".join(f":{name}" for name in PeriodRecord.__dataclass_fields__)


class PeriodRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def lock(self) -> None:
        """One close at a time: a second close waits, then finds what the first stored. LOCK TABLE, not an
        advisory lock: a SELECT would fix a REPEATABLE READ transaction's snapshot before the wait, so the
        second close would not see the first's month; LOCK takes no snapshot (run it before any query)."""
        self.connection.execute(text("LOCK TABLE finance_periods IN SHARE ROW EXCLUSIVE MODE"))

    def get(self, month: date) -> PeriodRecord | None:
        row = self.connection.execute(
            text(f"SELECT {_COLUMNS} FROM finance_periods WHERE month = :m"), {"m": month}
        ).first()
        return None if row is None else PeriodRecord(**row._mapping)

    def all(self) -> list[PeriodRecord]:
        """Every closed month, oldest first."""
        rows = self.connection.execute(text(f"SELECT {_COLUMNS} FROM finance_periods ORDER BY month"))
        return [PeriodRecord(**row._mapping) for row in rows]

    def latest(self) -> date | None:
        latest: date | None = self.connection.execute(
            text("SELECT max(month) FROM finance_periods")
        ).scalar_one()
        return latest

    def add(self, period: PeriodRecord, lines: list[LotLine], cohorts: list[CohortRevenue]) -> None:
        self.connection.execute(
            text(f"INSERT INTO finance_periods ({_COLUMNS}) VALUES ({_VALUES})"), asdict(period)
        )
        if lines:
            self.connection.execute(
                text(
                    """
                    INSERT INTO finance_period_lines
                        (month, earn_month, source, issued, redeemed, expired, reversed, outstanding)
                    VALUES (:month, :earn_month, :source, :issued, :redeemed, :expired, :reversed, :outstanding)
                    """
                ),
                [
                    {
                        "month": period.month,
                        "earn_month": line.earn_month,
                        "source": line.source.value,
                        "issued": line.issued,
                        "redeemed": line.redeemed,
                        "expired": line.expired,
                        "reversed": line.reversed,
                        "outstanding": line.outstanding,
                    }
                    for line in lines
                ],
            )
        if cohorts:
            self.connection.execute(
                text(
                    """
                    INSERT INTO finance_period_cohorts (month, earn_month, net_issued, redeemed, breakage_rate,
                        breakage_basis, expected_to_redeem, allocated, revenue_to_date, recognised)
                    VALUES (:month, :earn_month, :net_issued, :redeemed, :breakage_rate, :breakage_basis,
                        :expected_to_redeem, :allocated, :revenue_to_date, :recognised)
                    """
                ),
                [
                    {**asdict(c), "month": period.month, "breakage_basis": c.breakage_basis.value}
                    for c in cohorts
                ],
            )

    def lines(self, month: date) -> list[LotLine]:
        rows = self.connection.execute(
            text(
                """
                SELECT earn_month, source, issued, redeemed, expired, reversed FROM finance_period_lines
                WHERE month = :m ORDER BY earn_month, source
                """
            ),
            {"m": month},
        )
        return [
            LotLine(
                r.earn_month,
                Source(r.source),
                int(r.issued),
                int(r.redeemed),
                int(r.expired),
                int(r.reversed),
            )
            for r in rows
        ]

    def cohorts(self, month: date) -> list[CohortRevenue]:
        rows = self.connection.execute(
            text(
                """
                SELECT earn_month, net_issued, redeemed, breakage_rate, breakage_basis, expected_to_redeem,
                       allocated, revenue_to_date, recognised
                FROM finance_period_cohorts WHERE month = :m ORDER BY earn_month
                """
            ),
            {"m": month},
        )
        return [
            CohortRevenue(
                earn_month=r.earn_month,
                net_issued=int(r.net_issued),
                redeemed=int(r.redeemed),
                breakage_rate=r.breakage_rate,
                breakage_basis=RateBasis(r.breakage_basis),
                expected_to_redeem=int(r.expected_to_redeem),
                allocated=r.allocated,
                revenue_to_date=r.revenue_to_date,
                recognised=r.recognised,
            )
            for r in rows
        ]

    def outstanding_by_month(self) -> list[tuple[date, Source, int]]:
        """Each closed month's outstanding miles by source (the liability over time)."""
        rows = self.connection.execute(
            text(
                """
                SELECT month, source, sum(outstanding) AS miles FROM finance_period_lines
                GROUP BY month, source ORDER BY month, source
                """
            )
        )
        return [(r.month, Source(r.source), int(r.miles)) for r in rows]
