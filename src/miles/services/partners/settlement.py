"""Partner settlement: per partner and month, the miles issued (posted in the month), reversed (after
posting, in the month), net, the price per mile and the amount due. A month that is over can be closed,
once: its figures are stored and never change; what happens later counts in a later month."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from miles.adapters.db.partners.settlements import ClosedMonth, MonthFigures, SettlementRepository
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.calendar import end_of_month
from miles.domain.errors import InvalidInput
from miles.domain.partners.contracts import PartnerContract
from miles.programme.reading import ProgrammeBook
from miles.services.clock import today
from miles.services.partners.activities import contract_of
from miles.services.runtime import Runtime

CENT = Decimal("0.01")


@dataclass(frozen=True)
class SettlementView:
    partner: str
    partner_name: str
    month: str  # YYYY-MM
    closed: bool
    activities: int
    miles_issued: int
    miles_reversed: int
    net_miles: int
    price_per_mile: Decimal
    amount_due: Decimal
    currency: str
    closed_at: datetime | None = None


def parse_month(value: str, field: str = "month") -> date:
    """`YYYY-MM` as the month's first day."""
    try:
        if len(value) != 7 or value[4] != "-":
            raise ValueError(value)
        day = date(int(value[:4]), int(value[5:]), 1)
    except ValueError as exc:
        raise InvalidInput(f"a month is written YYYY-MM, not {value!r}", field=field) from exc
    return day


def amount_due(net_miles: int, price: Decimal) -> Decimal:
    return (Decimal(net_miles) * price).quantize(CENT, rounding=ROUND_HALF_UP)


def _contract(book: ProgrammeBook, partner: str, month: date) -> PartnerContract:
    """The contract in force on the month's last day (its price is the month's)."""
    return contract_of(book.in_force(end_of_month(month.year, month.month)), partner)


def _view(contract: PartnerContract, month: date, figures: MonthFigures) -> SettlementView:
    net = figures.miles_issued - figures.miles_reversed
    return SettlementView(
        partner=contract.code,
        partner_name=contract.name,
        month=month.strftime("%Y-%m"),
        closed=False,
        activities=figures.activities,
        miles_issued=figures.miles_issued,
        miles_reversed=figures.miles_reversed,
        net_miles=net,
        price_per_mile=contract.price_per_mile,
        amount_due=amount_due(net, contract.price_per_mile),
        currency=contract.price_currency,
    )


def _closed_view(name: str, row: ClosedMonth) -> SettlementView:
    return SettlementView(
        partner=row.partner,
        partner_name=name,
        month=row.month.strftime("%Y-%m"),
        closed=True,
        activities=row.activities,
        miles_issued=row.miles_issued,
        miles_reversed=row.miles_reversed,
        net_miles=row.net_miles,
        price_per_mile=row.price_per_mile,
        amount_due=row.amount_due,
        currency=row.currency,
        closed_at=row.closed_at,
    )


def settlement(runtime: Runtime, partner: str, month: date) -> SettlementView:
    """The partner's month: as closed, or as it stands so far."""
    with runtime.uow() as uow:
        contract = _contract(runtime.catalog.current(uow), partner, month)
        repo = SettlementRepository(uow.connection)
        closed = repo.closed(partner, month)
        if closed is not None:
            return _closed_view(contract.name, closed)
        return _view(contract, month, repo.figures(partner, month))


def _close_one(uow: UnitOfWork, contract: PartnerContract, month: date, by: str, at: datetime) -> SettlementView:
    repo = SettlementRepository(uow.connection)
    uow.partner_activities.settlement_lock([contract.code], exclusive=True)
    closed = repo.closed(contract.code, month)
    if closed is None:
        view = _view(contract, month, repo.figures(contract.code, month))
        closed = ClosedMonth(
            partner=contract.code,
            month=month,
            activities=view.activities,
            miles_issued=view.miles_issued,
            miles_reversed=view.miles_reversed,
            net_miles=view.net_miles,
            price_per_mile=view.price_per_mile,
            currency=view.currency,
            amount_due=view.amount_due,
            closed_at=at,
            closed_by=by,
        )
        repo.close(closed)
        closed = repo.closed(contract.code, month)
        assert closed is not None
    return _closed_view(contract.name, closed)


def close_month(runtime: Runtime, month: date, closed_by: str) -> list[SettlementView]:
    """Close the month for every partner of the programme (once: a closed month answers as closed)."""
    with runtime.uow() as uow:
        book = runtime.catalog.current(uow)
        at_end = book.in_force(end_of_month(month.year, month.month))
        local = today(runtime.clock, at_end.timezone)
        if end_of_month(month.year, month.month) >= local:
            raise InvalidInput(
                f"{month:%Y-%m} is not over yet (today is {local}): only a past month can be closed",
                field="month",
                code="month_not_over",
            )
        now = runtime.clock.now()
        return [_close_one(uow, c, month, closed_by, now) for _, c in sorted(at_end.partners.items())]


STATEMENT_COLUMNS = [
    "activity_id",
    "member_number",
    "activity_date",
    "kind",
    "category",
    "posted_on",
    "reversed_on",
    "miles_issued",
    "miles_reversed",
]


def write_statement(
    runtime: Runtime, view: SettlementView, folder: Path, progress: Callable[[int], None] | None = None
) -> Path:
    """The partner's statement of a month as CSV: one line per activity posted or reversed in it, then the
    totals (equal to the settlement's). Streamed: a month of millions of activities never sits in memory."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"settlement-{view.partner}-{view.month}.csv"
    month = parse_month(view.month)
    issued = reversed_ = 0
    with runtime.uow() as uow, path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(STATEMENT_COLUMNS)
        count = 0
        for row in SettlementRepository(uow.connection).lines(view.partner, month):
            writer.writerow(
                [row.activity_id, row.member_number, row.activity_date, row.kind, row.category or "",
                 row.posted_on or "", row.reversed_on or "", row.issued, row.reversed]
            )
            issued += row.issued
            reversed_ += row.reversed
            count += 1
            if progress is not None and count % 10_000 == 0:
                progress(count)
        writer.writerow([])
        writer.writerow(["partner", "month", "closed", "miles_issued", "miles_reversed", "net_miles", "price_per_mile", "amount_due", "currency"])
        writer.writerow([view.partner, view.month, view.closed, view.miles_issued, view.miles_reversed,
                         view.net_miles, view.price_per_mile, view.amount_due, view.currency])
    if (issued, reversed_) != (view.miles_issued, view.miles_reversed):
        raise RuntimeError(f"the statement of {view.partner} {view.month} does not add up to its settlement")
    return path
