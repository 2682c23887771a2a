"""What finance reads of a month (closed, or measured as it stands) and the CSV exports: every amount in
cents, every rate to six places, each month named YYYY-MM."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from miles.adapters.db.finance.periods import PeriodRecord
from miles.domain.finance.close import CohortRevenue, LotLine
from miles.domain.finance.liability import Source
from miles.domain.finance.months import month_label
from miles.services.finance.close import Measured

CENT = Decimal("0.01")
RATE = Decimal("0.000001")


def money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


@dataclass(frozen=True)
class CohortView:
    earn_month: str
    net_issued: int
    redeemed: int
    outstanding: int
    breakage_rate: str
    breakage_basis: str
    expected_to_redeem: int
    allocated: str
    revenue_to_date: str
    recognised: str


@dataclass(frozen=True)
class PeriodView:
    month: str
    closed: bool
    currency: str
    value_per_mile: str
    miles_issued: dict[str, int]  # by source, and `total`
    miles_redeemed: int
    miles_expired: int
    miles_outstanding: int
    debts: int
    miles_held: int
    breakage_rate: str
    breakage_basis: str
    deferred_revenue_opening: str
    deferred_revenue_in_month: str
    revenue_recognised: str
    deferred_revenue_closing: str
    closed_at: datetime | None
    closed_by: str | None
    cohorts: list[CohortView]


def _outstanding(lines: Iterable[LotLine]) -> dict[date, int]:
    months: dict[date, int] = {}
    for line in lines:
        months[line.earn_month] = months.get(line.earn_month, 0) + line.outstanding
    return months


def cohort_view(cohort: CohortRevenue, outstanding: int) -> CohortView:
    return CohortView(
        earn_month=month_label(cohort.earn_month),
        net_issued=cohort.net_issued,
        redeemed=cohort.redeemed,
        outstanding=outstanding,
        breakage_rate=str(cohort.breakage_rate.quantize(RATE)),
        breakage_basis=cohort.breakage_basis.value,
        expected_to_redeem=cohort.expected_to_redeem,
        allocated=money(cohort.allocated),
        revenue_to_date=money(cohort.revenue_to_date),
        recognised=money(cohort.recognised),
    )


def issued_by_source(record: PeriodRecord) -> dict[str, int]:
    return {**{s.value: record.issued(s) for s in Source}, "total": record.issued_total}


def period_view(measured: Measured, closed: bool) -> PeriodView:
    r = measured.record
    outstanding = _outstanding(measured.lines)
    return PeriodView(
        month=month_label(r.month),
        closed=closed,
        currency=r.currency,
        value_per_mile=str(r.value_per_mile.quantize(RATE)),
        miles_issued=issued_by_source(r),
        miles_redeemed=r.miles_redeemed,
        miles_expired=r.miles_expired,
        miles_outstanding=r.miles_outstanding,
        debts=r.debts,
        miles_held=r.miles_held,
        breakage_rate=str(r.breakage_rate.quantize(RATE)),
        breakage_basis=r.breakage_basis,
        deferred_revenue_opening=money(r.deferred_opening),
        deferred_revenue_in_month=money(r.deferred_in_month),
        revenue_recognised=money(r.revenue_recognised),
        deferred_revenue_closing=money(r.deferred_closing),
        closed_at=r.closed_at if closed else None,
        closed_by=r.closed_by if closed else None,
        cohorts=[cohort_view(c, outstanding.get(c.earn_month, 0)) for c in measured.cohorts],
    )


SUMMARY_COLUMNS = [
    "month",
    "currency",
    *(f"issued_{s.value}" for s in Source),
    "issued_total",
    "miles_redeemed",
    "miles_expired",
    "miles_outstanding",
    "debts",
    "miles_held",
    "breakage_rate",
    "deferred_revenue_opening",
    "deferred_revenue_in_month",
    "revenue_recognised",
    "deferred_revenue_closing",
    "closed_at",
    "closed_by",
]


def summary_row(record: PeriodRecord) -> list[object]:
    return [
        month_label(record.month),
        record.currency,
        *(record.issued(s) for s in Source),
        record.issued_total,
        record.miles_redeemed,
        record.miles_expired,
        record.miles_outstanding,
        record.debts,
        record.miles_held,
        record.breakage_rate,
        money(record.deferred_opening),
        money(record.deferred_in_month),
        money(record.revenue_recognised),
        money(record.deferred_closing),
        record.closed_at.isoformat(),
        record.closed_by,
    ]


def _csv(header: list[str], rows: Iterable[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def months_csv(records: Iterable[PeriodRecord]) -> str:
    """Every closed month's figures, one line each, oldest first."""
    return _csv(SUMMARY_COLUMNS, (summary_row(r) for r in records))


COHORT_COLUMNS = list(CohortView.__dataclass_fields__)


def cohorts_csv(view: PeriodView) -> str:
    """A month's cohorts: each earn month's breakage, miles expected to be redeemed and revenue."""
    return _csv(
        ["month", *COHORT_COLUMNS],
        ([view.month, *(getattr(c, name) for name in COHORT_COLUMNS)] for c in view.cohorts),
    )


LIABILITY_COLUMNS = [
    "month",
    "earn_month",
    "source",
    "issued",
    "redeemed",
    "expired",
    "reversed",
    "outstanding",
]


def liability_csv(measured: Measured) -> str:
    """A month's liability at its end: each earn month and source's miles."""
    label = month_label(measured.record.month)
    return _csv(
        LIABILITY_COLUMNS,
        (
            [
                label,
                month_label(line.earn_month),
                line.source.value,
                line.issued,
                line.redeemed,
                line.expired,
                line.reversed,
                line.outstanding,
            ]
            for line in measured.lines
        ),
    )
