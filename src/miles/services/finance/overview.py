"""Finance's home: every closed month, the liability over time by source, and the month a close would take
next (the month after the last closed, or last month when none is closed yet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from miles.adapters.db.finance.periods import PeriodRecord, PeriodRepository
from miles.adapters.db.finance.snapshots import SnapshotRepository
from miles.domain.accrual import ZONE_SPREAD
from miles.domain.calendar import add_months, end_of_month
from miles.domain.errors import InvalidInput
from miles.domain.finance.liability import Liability, LiabilityLine, Source, check_liability
from miles.domain.finance.months import month_label
from miles.services.clock import start_of_day, today
from miles.services.partners.settlement import settlement
from miles.services.runtime import Runtime


@dataclass(frozen=True)
class FinanceOverview:
    periods: list[PeriodRecord]  # oldest first
    outstanding: dict[str, dict[Source, int]]  # each closed month's outstanding miles by source
    next_month: str  # the month a close takes next
    next_is_over: bool  # whether that month is over (it can be closed now)
    currency: str


def overview(runtime: Runtime) -> FinanceOverview:
    with runtime.uow() as uow:
        periods = PeriodRepository(uow.connection)
        records = periods.all()
        by_month: dict[str, dict[Source, int]] = {}
        for month, source, miles in periods.outstanding_by_month():
            by_month.setdefault(month_label(month), dict.fromkeys(Source, 0))[source] += miles
        programme = runtime.catalog.current(uow).versions[-1]
    local = today(runtime.clock, programme.timezone)
    latest: date | None = records[-1].month if records else None
    upcoming = add_months(latest, 1) if latest is not None else add_months(local.replace(day=1), -1)
    return FinanceOverview(
        periods=records,
        outstanding=by_month,
        next_month=month_label(upcoming),
        next_is_over=end_of_month(upcoming.year, upcoming.month) < local,
        currency=programme.currency,
    )


@dataclass(frozen=True)
class PartnerBilling:
    partner: str
    partner_name: str
    closed: bool
    net_miles: int
    amount_due: str
    currency: str


def partner_billing(runtime: Runtime, month: date) -> list[PartnerBilling]:
    """Each partner's settlement of the month (as closed, or as it stands), in the partners' order."""
    with runtime.uow() as uow:
        partners = sorted(
            runtime.catalog.current(uow).in_force(end_of_month(month.year, month.month)).partners
        )
    views = [settlement(runtime, partner, month) for partner in partners]
    return [
        PartnerBilling(v.partner, v.partner_name, v.closed, v.net_miles, str(v.amount_due), v.currency)
        for v in views
    ]


@dataclass(frozen=True)
class LiabilityView:
    """The miles liability at the end of a date: the lots' remaining miles by earn month and source, the debts
    no lot carries, the miles held for awards in progress, and the members' balances they add up to."""

    date: str
    miles_outstanding: int  # the members' balances
    lots_outstanding: int
    debts: int
    miles_held: int
    by_source: dict[str, int]
    cohorts: list[dict[str, object]]  # {earn_month, total, by_source}


def liability_at(runtime: Runtime, day: date) -> LiabilityView:
    """Outstanding miles at the end of `day` (the programme's time zone), checked against the balances; a
    day not over yet is read as it stands now."""
    with runtime.uow() as uow:
        snapshots = SnapshotRepository(uow.connection)
        snapshots.repeatable()
        zone = runtime.catalog.current(uow).timezone
        if day > today(runtime.clock, zone):
            raise InvalidInput(f"{day} is in the future", field="date", code="future_date")
        at = start_of_day(day + timedelta(days=1), zone)
        lines = snapshots.lines(at)
        balances = snapshots.balances(at)
    liability = Liability(
        as_of=day + ZONE_SPREAD,  # lots posted by the end of `day` earned up to two days later (close._check)
        lines=tuple(LiabilityLine(line.earn_month, line.source, line.outstanding) for line in lines),
        debts=balances.debts,
        ledger_balance=balances.ledger_balance,
    )
    check_liability(liability)
    return LiabilityView(
        date=day.isoformat(),
        miles_outstanding=liability.net,
        lots_outstanding=liability.gross,
        debts=liability.debts,
        miles_held=balances.held,
        by_source={s.value: miles for s, miles in liability.by_source().items()},
        cohorts=[
            {
                "earn_month": month_label(month),
                "total": sum(sources.values()),
                "by_source": {s.value: miles for s, miles in sources.items()},
            }
            for month, sources in liability.by_cohort().items()
        ],
    )


def programme_today(runtime: Runtime) -> date:
    with runtime.uow() as uow:
        zone = runtime.catalog.current(uow).timezone
    return today(runtime.clock, zone)
