"""A month's close (docs/finance.md, "What a month's close records"), computed from two snapshots of the lots:
at the end of the month before and at the end of the month. Each snapshot gives, per earn month and source,
the miles the lots were opened with (issued) and what redemptions (less refunds), expiry and reversals had
drawn from them by then. Everything the close records follows from the two:

- miles issued in the month, by source: net issued at the end less net issued at the start (a reversal counts
  against the source of the lot it drew from); redeemed and expired in the month alike;
- outstanding at the month's end: the lots' remaining miles (with the debts no lot carries, apart);
- per cohort: the breakage rate as of the month's end, the miles expected to be redeemed, the consideration
  allocated (the cohort's allocation at the start, plus the miles it gained in the month at this month's value
  per mile, rounded to the cent) and revenue to date by the cumulative catch-up; recognised in the month =
  revenue to date less revenue to date at the start;
- the deferred revenue: opening (allocated less revenue to date at the start), the month's deferred amount
  (allocated at the end less at the start), revenue recognised, closing = opening + deferred - recognised,
  which is the allocated less revenue to date at the end, exactly (every amount is in cents: a cohort's
  allocation grows by its miles of the month x the value per mile, rounded half up to the cent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from miles.domain.errors import InvalidInput
from miles.domain.finance.breakage import (
    BreakageEstimate,
    CohortHistory,
    RateBasis,
    estimate_breakage,
    expected_to_redeem,
)
from miles.domain.finance.liability import Source, by_source
from miles.domain.finance.revenue import cumulative_revenue, deferred_on_issue


@dataclass(frozen=True)
class LotLine:
    """The lots of one earn month and one source, as of a snapshot's instant."""

    earn_month: date
    source: Source
    issued: int
    redeemed: int  # drawn by awards and cancellation fees, less what cancelled awards gave back
    expired: int
    reversed: int

    @property
    def outstanding(self) -> int:
        return self.issued - self.redeemed - self.expired - self.reversed

    @property
    def net_issued(self) -> int:
        return self.issued - self.reversed


def cohort_histories(lines: Iterable[LotLine]) -> list[CohortHistory]:
    """The lines summed per earn month (every source together), months in order."""
    months: dict[date, list[int]] = {}
    for line in lines:
        sums = months.setdefault(line.earn_month, [0, 0, 0, 0])
        sums[0] += line.issued
        sums[1] += line.redeemed
        sums[2] += line.expired
        sums[3] += line.reversed
    return [
        CohortHistory(
            earn_month=month,
            issued=s[0],
            redeemed=s[1],
            expired=s[2],
            outstanding=s[0] - s[1] - s[2] - s[3],
            reversed=s[3],
        )
        for month, s in sorted(months.items())
    ]


@dataclass(frozen=True)
class CohortRevenue:
    """One cohort's revenue as measured at a month's end."""

    earn_month: date
    net_issued: int
    redeemed: int
    breakage_rate: Decimal
    breakage_basis: RateBasis
    expected_to_redeem: int
    allocated: Decimal  # the cohort's miles x value per mile, each month's addition rounded to the cent
    revenue_to_date: Decimal  # rounded to the cent
    recognised: Decimal  # in this month: revenue to date less revenue to date at the start

    @property
    def deferred(self) -> Decimal:
        return self.allocated - self.revenue_to_date


@dataclass(frozen=True)
class CohortStart:
    """What a cohort stood at when the month began (the previous close, or the same measure as of then)."""

    net_issued: int
    allocated: Decimal
    revenue_to_date: Decimal


def measure_cohorts(
    histories: Iterable[CohortHistory],
    estimate: BreakageEstimate,
    value_per_mile: Decimal,
    start: Mapping[date, CohortStart],
) -> list[CohortRevenue]:
    """Each cohort's revenue at the estimate's date, from where it stood at the start (a cohort not in
    `start` begins from nothing: all its miles were issued in this month)."""
    if value_per_mile <= 0:
        raise InvalidInput("the value per mile is not positive", field="value_per_mile", code="not_positive")
    nothing = CohortStart(0, Decimal(0), Decimal(0))
    measured = []
    for history in histories:
        before = start.get(history.earn_month, nothing)
        net = history.issued - history.reversed
        allocated = before.allocated + deferred_on_issue(net - before.net_issued, value_per_mile)
        if allocated < 0:  # reversals at a higher value per mile than the miles were issued at
            allocated = Decimal(0)
        rate = estimate.rate(history.earn_month)
        cohort = estimate.cohorts.get(history.earn_month)
        basis = estimate.mature_basis if cohort is None else cohort.basis
        expected = expected_to_redeem(net, rate)
        to_date = cumulative_revenue(allocated, net, expected, history.redeemed)
        measured.append(
            CohortRevenue(
                earn_month=history.earn_month,
                net_issued=net,
                redeemed=history.redeemed,
                breakage_rate=rate,
                breakage_basis=basis,
                expected_to_redeem=expected,
                allocated=allocated,
                revenue_to_date=to_date,
                recognised=to_date - before.revenue_to_date,
            )
        )
    return measured


@dataclass(frozen=True)
class MonthFlows:
    """What moved in the month: the end's lines less the start's."""

    issued: Mapping[Source, int]  # net of reversals, by source; every source present
    redeemed: int
    expired: int

    @property
    def issued_total(self) -> int:
        return sum(self.issued.values())


def month_flows(start: Iterable[LotLine], end: Iterable[LotLine]) -> MonthFlows:
    begin = list(start)
    finish = list(end)
    issued = by_source(
        [(line.source, line.net_issued) for line in finish]
        + [(line.source, -line.net_issued) for line in begin]
    )
    return MonthFlows(
        issued=issued,
        redeemed=sum(line.redeemed for line in finish) - sum(line.redeemed for line in begin),
        expired=sum(line.expired for line in finish) - sum(line.expired for line in begin),
    )


@dataclass(frozen=True)
class Deferral:
    opening: Decimal
    deferred: Decimal
    recognised: Decimal

    @property
    def closing(self) -> Decimal:
        return self.opening + self.deferred - self.recognised


def deferral(start: Mapping[date, CohortStart], cohorts: Iterable[CohortRevenue]) -> Deferral:
    """The month's deferred revenue roll-forward from the cohorts at the start and at the end."""
    measured = list(cohorts)
    opening = sum((c.allocated - c.revenue_to_date for c in start.values()), Decimal(0))
    allocated_start = sum((c.allocated for c in start.values()), Decimal(0))
    return Deferral(
        opening=opening,
        deferred=sum((c.allocated for c in measured), Decimal(0)) - allocated_start,
        recognised=sum((c.recognised for c in measured), Decimal(0)),
    )


def starting_point(
    lines: Iterable[LotLine],
    as_of: date,
    maturity_months: int,
    override: Decimal | None,
    value_per_mile: Decimal,
) -> dict[date, CohortStart]:
    """Where cohorts stood at `as_of` when no close recorded it (the first month closed): the same measure,
    every mile issued by then allocated at `value_per_mile`."""
    histories = cohort_histories(lines)
    estimate = estimate_breakage(histories, as_of, maturity_months, override)
    return {
        c.earn_month: CohortStart(c.net_issued, c.allocated, c.revenue_to_date)
        for c in measure_cohorts(histories, estimate, value_per_mile, {})
    }
