"""Retention reports for the loyalty team (miles.domain.retention has the rules): segment sizes over time,
members lost per month and what preceded it, members won back and the promotion that brought them, cohort
retention, and each promotion's cost against the members it reactivated. Each reads set-based SQL; months
are named YYYY-MM, shares are decimals to four places."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from miles.adapters.db.retention import RetentionRepository
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.calendar import add_months
from miles.domain.errors import InvalidInput
from miles.domain.finance.months import month_label, parse_month
from miles.domain.retention import Cause, month_range, share
from miles.domain.segments import Flag, Segment
from miles.services.clock import start_of_day, today
from miles.services.runtime import Runtime

CENT = Decimal("0.01")
SEGMENT_NAMES = frozenset(s.value for s in Segment)
DEFAULT_MONTHS = 12


@dataclass(frozen=True)
class Months:
    """A report's range: whole months, first to last."""

    first: date
    last: date

    @property
    def after(self) -> date:
        return add_months(self.last, 1)

    @property
    def labels(self) -> list[str]:
        return [month_label(m) for m in month_range(self.first, self.last)]


def months_of(runtime: Runtime, first: str | None, last: str | None) -> Months:
    """`from` and `to` (YYYY-MM, both optional): by default the last twelve months, this one included."""
    with runtime.uow() as uow:
        zone = runtime.catalog.current(uow).timezone
    current = today(runtime.clock, zone).replace(day=1)
    end = parse_month(last, field="to") if last is not None else current
    if end.year == date.max.year and end.month == 12:  # a range is read up to the month after its last
        raise InvalidInput("the last month is 9999-11 at the latest", field="to", code="out_of_range")
    start = parse_month(first, field="from") if first is not None else add_months(end, 1 - DEFAULT_MONTHS)
    month_range(start, end)  # refused when reversed or too long
    return Months(start, end)


def _repo(runtime: Runtime, uow: UnitOfWork) -> RetentionRepository:
    return RetentionRepository(uow.connection, runtime.catalog.current(uow).timezone)


@dataclass(frozen=True)
class SegmentPoint:
    date: str  # the month's last night with segments
    counts: dict[str, int]
    flags: dict[str, int]


def segment_history(runtime: Runtime, months: Months) -> list[SegmentPoint]:
    with runtime.uow() as uow:
        rows = _repo(runtime, uow).history(months.first, months.after)
    points: dict[date, SegmentPoint] = {}
    for row in rows:
        point = points.setdefault(
            row.run_date,
            SegmentPoint(row.run_date.isoformat(), dict.fromkeys(Segment, 0), dict.fromkeys(Flag, 0)),
        )
        if row.name in SEGMENT_NAMES:
            point.counts[row.name] = int(row.members)
        else:
            point.flags[row.name] = int(row.members)
    return [points[d] for d in sorted(points)]


@dataclass(frozen=True)
class LostMonth:
    month: str
    lost: int
    causes: dict[str, int]  # complaint, downgrade, expiry, none


def lost_members(runtime: Runtime, months: Months) -> list[LostMonth]:
    with runtime.uow() as uow:
        ladder = list(runtime.catalog.current(uow).versions[-1].ladder.codes)
        rows = _repo(runtime, uow).lost(months.first, months.after, ladder)
    causes = {label: dict.fromkeys((c.value for c in Cause), 0) for label in months.labels}
    for row in rows:
        causes[month_label(row.month)][row.cause] = int(row.members)
    return [LostMonth(label, sum(c.values()), c) for label, c in causes.items()]


@dataclass(frozen=True)
class WonBackMonth:
    month: str
    won_back: int
    promotions: dict[
        str, int
    ]  # promotion code -> members its return flight earned it; `none` for no promotion


NO_PROMOTION = "none"


def won_back(runtime: Runtime, months: Months) -> list[WonBackMonth]:
    with runtime.uow() as uow:
        rows = _repo(runtime, uow).won_back(months.first, months.after)
    totals = dict.fromkeys(months.labels, 0)
    promotions: dict[str, dict[str, int]] = {label: {} for label in months.labels}
    for row in rows:
        label = month_label(row.month)
        if row.total:
            totals[label] = int(row.members)
        else:
            promotions[label][row.code or NO_PROMOTION] = int(row.members)
    return [
        WonBackMonth(label, totals[label], dict(sorted(promotions[label].items()))) for label in months.labels
    ]


@dataclass(frozen=True)
class CohortRetention:
    enrolment_month: str
    members: int
    retained: list[str | None]  # per month since enrolment (0 = the enrolment month's end): a share, or None


def cohort_retention(runtime: Runtime, months: Months, since: int = DEFAULT_MONTHS) -> list[CohortRetention]:
    with runtime.uow() as uow:
        repo = _repo(runtime, uow)
        zone = runtime.catalog.current(uow).timezone
        first_at, after_at = start_of_day(months.first, zone), start_of_day(months.after, zone)
        sizes = {row.enrolled: int(row.members) for row in repo.cohort_sizes(first_at, after_at)}
        night = repo.last_night()
        rows = repo.cohorts(first_at, after_at, since, night) if night is not None else []
    shares: dict[date, list[str | None]] = {month: [None] * since for month in sizes}
    for row in rows:
        value = share(int(row.retained), int(row.known))
        shares[row.enrolled][int(row.k)] = None if value is None else str(value)
    return [CohortRetention(month_label(m), sizes[m], shares[m]) for m in sorted(sizes)]


@dataclass(frozen=True)
class PromotionReturn:
    code: str
    name: str
    miles_awarded: int
    members_awarded: int
    members_reactivated: int
    cost: str  # the miles at the value per mile, in the accounting currency
    cost_per_reactivated: str | None


def promotion_returns(runtime: Runtime, months: Months) -> tuple[str, list[PromotionReturn]]:
    """(the accounting currency, each promotion that awarded miles or brought members back in the range)."""
    with runtime.uow() as uow:
        programme = runtime.catalog.current(uow).versions[-1]
        zone = programme.timezone
        first_at, after_at = start_of_day(months.first, zone), start_of_day(months.after, zone)
        rows = _repo(runtime, uow).promotions(months.first, months.after, first_at, after_at)
    value = programme.finance.value_per_mile
    out = []
    for row in rows:
        cost = (Decimal(int(row.miles)) * value).quantize(CENT, rounding=ROUND_HALF_UP)
        back = int(row.reactivated)
        per = (cost / back).quantize(CENT, rounding=ROUND_HALF_UP) if back else None
        out.append(
            PromotionReturn(
                row.code,
                row.name,
                int(row.miles),
                int(row.members),
                back,
                str(cost),
                None if per is None else str(per),
            )
        )
    return programme.currency, out
