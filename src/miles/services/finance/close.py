"""A month's close (docs/finance.md): measured from the lots and the ledger as they stood at the month's
start and end (by posting instants, in the programme's time zone), checked (the liability adds up to the
members' balances), and stored once. Months close in order after the first; a closed month never changes.
The same measure, not stored, answers for a month that is not closed yet (a preview)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import DBAPIError

from miles.adapters.db.finance.periods import PeriodRecord, PeriodRepository
from miles.adapters.db.finance.snapshots import Balances, SnapshotRepository
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.accrual import ZONE_SPREAD
from miles.domain.calendar import add_months, end_of_month
from miles.domain.errors import Conflict, InvalidInput
from miles.domain.finance.breakage import estimate_breakage
from miles.domain.finance.close import (
    CohortRevenue,
    CohortStart,
    LotLine,
    cohort_histories,
    deferral,
    measure_cohorts,
    month_flows,
    starting_point,
)
from miles.domain.finance.liability import Liability, LiabilityLine, Source, check_liability
from miles.domain.finance.months import month_label
from miles.domain.programme.model import Programme
from miles.services.clock import start_of_day, today
from miles.services.runtime import Runtime


@dataclass(frozen=True)
class Measured:
    """A month measured: what a close stores (the record, its lines and cohorts)."""

    record: PeriodRecord
    lines: list[LotLine]
    cohorts: list[CohortRevenue]


@dataclass(frozen=True)
class Closing:
    measured: Measured
    already: bool  # closed before (now or by a concurrent close): nothing was written


def _last_day(month: date) -> date:
    return end_of_month(month.year, month.month)


def _rules(uow: UnitOfWork, runtime: Runtime, month: date) -> Programme:
    """The rules in force on the month's last day."""
    return runtime.catalog.current(uow).in_force(_last_day(month))


def _measure(uow: UnitOfWork, programme: Programme, month: date, by: str, at: datetime) -> Measured:
    if month == date.min:  # a month opens where the month before it closed: 0001-01 has none
        raise InvalidInput("the first month measured is 0001-02", field="month", code="out_of_range")
    periods = PeriodRepository(uow.connection)
    snapshots = SnapshotRepository(uow.connection)
    zone = programme.timezone
    rules = programme.finance
    previous = add_months(month, -1)
    start_at = start_of_day(month, zone)
    end_at = start_of_day(add_months(month, 1), zone)
    if periods.get(previous) is not None:
        start_lines = periods.lines(previous)
        start = {
            c.earn_month: CohortStart(c.net_issued, c.allocated, c.revenue_to_date)
            for c in periods.cohorts(previous)
        }
        computed = False
    else:
        start_lines = snapshots.lines(start_at)
        start = starting_point(
            start_lines,
            _last_day(previous),
            rules.breakage_maturity_months,
            rules.breakage_override,
            rules.value_per_mile,
        )
        computed = True
    end_lines = snapshots.lines(end_at)
    histories = cohort_histories(end_lines)
    estimate = estimate_breakage(
        histories, _last_day(month), rules.breakage_maturity_months, rules.breakage_override
    )
    cohorts = measure_cohorts(histories, estimate, rules.value_per_mile, start)
    flows = month_flows(start_lines, end_lines)
    money = deferral(start, cohorts)
    balances = snapshots.balances(end_at)
    _check(month, end_lines, balances)
    gross = sum(line.outstanding for line in end_lines)
    record = PeriodRecord(
        month=month,
        currency=programme.currency,
        value_per_mile=rules.value_per_mile,
        breakage_rate=estimate.mature_rate,
        breakage_basis=estimate.mature_basis.value,
        **{f"issued_{s.value}": flows.issued[s] for s in Source},
        issued_total=flows.issued_total,
        miles_redeemed=flows.redeemed,
        miles_expired=flows.expired,
        lots_outstanding=gross,
        debts=balances.debts,
        miles_outstanding=gross - balances.debts,
        miles_held=balances.held,
        ledger_balance=balances.ledger_balance,
        deferred_opening=money.opening,
        deferred_in_month=money.deferred,
        revenue_recognised=money.recognised,
        deferred_closing=money.closing,
        opening_computed=computed,
        closed_at=at,
        closed_by=by,
    )
    return Measured(record, end_lines, cohorts)


def _check(month: date, lines: list[LotLine], balances: Balances) -> None:
    check_liability(
        Liability(
            # a lot posted by the month's end may be earned up to two days later: a flight leaving on its
            # airport's today, already the next month's 1st there (miles.domain.accrual.departed_by)
            as_of=_last_day(month) + ZONE_SPREAD,
            lines=tuple(LiabilityLine(line.earn_month, line.source, line.outstanding) for line in lines),
            debts=balances.debts,
            ledger_balance=balances.ledger_balance,
        )
    )
    if balances.members_above_lots:
        raise Conflict(
            f"{balances.members_above_lots} members hold more miles than their lots carry at the end of "
            f"{month_label(month)}",
            code="liability_mismatch",
        )


def _over(runtime: Runtime, programme: Programme, month: date) -> None:
    local = today(runtime.clock, programme.timezone)
    if _last_day(month) >= local:
        raise InvalidInput(
            f"{month_label(month)} is not over yet (today is {local}): only a past month can be closed",
            field="month",
            code="month_not_over",
        )


def _in_order(periods: PeriodRepository, month: date) -> None:
    latest = periods.latest()
    if latest is not None and month != add_months(latest, 1):
        after = month_label(add_months(latest, 1))
        raise InvalidInput(
            f"months close in order: {month_label(latest)} is the last closed, {after} is next",
            field="month",
            code="month_out_of_order",
        )


def close_month(runtime: Runtime, month: date, closed_by: str) -> Closing:
    """Close `month` once (a month closed already answers as it was closed)."""
    try:
        with runtime.uow() as uow:
            SnapshotRepository(uow.connection).repeatable()
            periods = PeriodRepository(uow.connection)
            periods.lock()
            stored = _stored(periods, month)
            if stored is not None:
                return Closing(stored, already=True)
            programme = _rules(uow, runtime, month)
            _over(runtime, programme, month)
            _in_order(periods, month)
            measured = _measure(uow, programme, month, closed_by, runtime.clock.now())
            periods.add(measured.record, measured.lines, measured.cohorts)
            return Closing(measured, already=False)
    except DBAPIError as exc:  # a concurrent close stored it first (unique key, or a serialization failure)
        if getattr(exc.orig, "sqlstate", None) not in {"23505", "40001"}:
            raise
        with runtime.uow() as uow:
            stored = _stored(PeriodRepository(uow.connection), month)
        if stored is None:
            raise
        return Closing(stored, already=True)


def _stored(periods: PeriodRepository, month: date) -> Measured | None:
    record = periods.get(month)
    if record is None:
        return None
    return Measured(record, periods.lines(month), periods.cohorts(month))


@dataclass(frozen=True)
class PeriodRead:
    measured: Measured
    closed: bool


def period(runtime: Runtime, month: date) -> PeriodRead:
    """The month as closed, or measured as it stands (not stored) when it is not closed yet."""
    with runtime.uow() as uow:
        SnapshotRepository(uow.connection).repeatable()
        stored = _stored(PeriodRepository(uow.connection), month)
        if stored is not None:
            return PeriodRead(stored, closed=True)
        programme = _rules(uow, runtime, month)
        return PeriodRead(_measure(uow, programme, month, "preview", runtime.clock.now()), closed=False)


def closed_periods(runtime: Runtime) -> list[PeriodRecord]:
    with runtime.uow() as uow:
        return PeriodRepository(uow.connection).all()


def period_for(runtime: Runtime, month: date) -> PeriodRead:
    """A month's read for finance: closed as it was, or as it stands; a month not begun yet is refused."""
    with runtime.uow() as uow:
        programme = runtime.catalog.current(uow).in_force(_last_day(month))
    current = today(runtime.clock, programme.timezone).replace(day=1)
    if month > current:
        raise InvalidInput(
            f"{month_label(month)} has not begun (this is {month_label(current)})",
            field="month",
            code="future_month",
        )
    return period(runtime, month)
