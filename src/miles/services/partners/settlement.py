"""Partner settlement: per partner and month, the miles issued (posted in the month), reversed (after
posting, in the month), net, the price per mile and the amount due. A month that is over can be closed,
once: its figures are stored and never change; what happens later counts in a later month."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from miles.adapters.db.partners.settlements import ClosedMonth, MonthFigures, SettlementRepository
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.calendar import add_months, end_of_month
from miles.domain.errors import InvalidInput
from miles.domain.finance.months import parse_month
from miles.domain.partners.contracts import PartnerContract
from miles.programme.reading import ProgrammeBook
from miles.services.clock import today
from miles.services.partners.activities import contract_of, programme_now
from miles.services.runtime import Runtime

CENT = Decimal("0.01")
PRICE_PLACES = Decimal(
    "0.000001"
)  # partner_settlements.price_per_mile's scale: an open and a closed month read alike


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


def amount_due(net_miles: int, price: Decimal) -> Decimal:
    return (Decimal(net_miles) * price).quantize(CENT, rounding=ROUND_HALF_UP)


def _contract(book: ProgrammeBook, partner: str, month: date) -> PartnerContract:
    """The contract in force on the month's last day (its price is the month's)."""
    return contract_of(book.in_force(end_of_month(month.year, month.month)), partner)


def _view(contract: PartnerContract, month: date, figures: MonthFigures) -> SettlementView:
    net = figures.miles_issued - figures.miles_reversed
    price = contract.price_per_mile.quantize(PRICE_PLACES)
    return SettlementView(
        partner=contract.code,
        partner_name=contract.name,
        month=month.strftime("%Y-%m"),
        closed=False,
        activities=figures.activities,
        miles_issued=figures.miles_issued,
        miles_reversed=figures.miles_reversed,
        net_miles=net,
        price_per_mile=price,
        amount_due=amount_due(net, price),
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
        price_per_mile=row.price_per_mile.quantize(PRICE_PLACES),
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


@dataclass(frozen=True)
class Closing:
    view: SettlementView  # the month as closed
    already: bool  # closed before (by an earlier or a concurrent close): nothing was written now


def _close_one(uow: UnitOfWork, contract: PartnerContract, month: date, by: str, at: datetime) -> Closing:
    repo = SettlementRepository(uow.connection)
    uow.partner_activities.settlement_lock([contract.code], exclusive=True)
    closed = repo.closed(contract.code, month)
    already = closed is not None
    if closed is None:
        view = _view(contract, month, repo.figures(contract.code, month))
        written = repo.close(
            ClosedMonth(
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
        )
        already = not written
        closed = repo.closed(contract.code, month)
        assert closed is not None
    return Closing(_closed_view(contract.name, closed), already)


def close_month(runtime: Runtime, month: date, closed_by: str) -> list[Closing]:
    """Close the month for every partner of the programme (in force on its last day), once: a month closed
    already answers as it was closed. Only a month that is over (in the programme's zone) can be closed."""
    with runtime.uow() as uow:
        book = runtime.catalog.current(uow)
        last_day = end_of_month(month.year, month.month)
        at_end = book.in_force(last_day)
        local = today(runtime.clock, at_end.timezone)
        if last_day >= local:
            raise InvalidInput(
                f"{month:%Y-%m} is not over yet (today is {local}): only a past month can be closed",
                field="month",
                code="month_not_over",
            )
        now = runtime.clock.now()
        return [_close_one(uow, c, month, closed_by, now) for _, c in sorted(at_end.partners.items())]


PROGRESS_EVERY = 10_000
TOTAL_COLUMNS = [
    "partner",
    "month",
    "closed",
    "miles_issued",
    "miles_reversed",
    "net_miles",
    "price_per_mile",
    "amount_due",
    "currency",
]
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
    """The partner's statement of a month as CSV: one line per activity posted or reversed in it (written
    by PostgreSQL's COPY, streamed: a month of millions of activities never sits in memory), then the totals,
    equal to the settlement's: the lines and their sums are read from one snapshot, and a statement whose
    sums differ from the settlement is never left (it is written beside its place and moved there whole)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"settlement-{view.partner}-{view.month}.csv"
    partial = path.with_name(path.name + ".part")
    month = parse_month(view.month)
    count = 0
    try:
        with runtime.uow() as uow, partial.open("wb") as handle:
            repo = SettlementRepository(uow.connection)
            repo.snapshot()
            figures = repo.figures(view.partner, month)
            if (figures.miles_issued, figures.miles_reversed) != (view.miles_issued, view.miles_reversed):
                raise RuntimeError(
                    f"the statement of {view.partner} {view.month} does not add up to its settlement"
                )
            handle.write((",".join(STATEMENT_COLUMNS) + "\n").encode())
            for block in repo.copy_lines(view.partner, month):
                handle.write(block)
                lines = block.count(b"\n")
                if progress is not None and (count + lines) // PROGRESS_EVERY > count // PROGRESS_EVERY:
                    progress(count + lines)
                count += lines
            totals = [
                view.partner,
                view.month,
                "true" if view.closed else "false",
                view.miles_issued,
                view.miles_reversed,
                view.net_miles,
                view.price_per_mile,
                view.amount_due,
                view.currency,
            ]
            handle.write(("\n" + ",".join(TOTAL_COLUMNS) + "\n").encode())
            handle.write((",".join(str(v) for v in totals) + "\n").encode())
        if count != figures.activities:
            raise RuntimeError(
                f"the statement of {view.partner} {view.month} lost lines: {count} of {figures.activities}"
            )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    if progress is not None:
        progress(count)
    return path


# --- finance's overview: every partner's recent months, closed as stored, open as they stand ---------


@dataclass(frozen=True)
class MonthLine:
    month: str  # YYYY-MM
    closed: bool
    miles_issued: int
    miles_reversed: int
    net_miles: int
    amount_due: Decimal | None  # None: no contract of the partner in force that month
    currency: str | None


@dataclass(frozen=True)
class PartnerMonths:
    partner: str
    partner_name: str
    months: list[MonthLine]  # oldest first


@dataclass(frozen=True)
class RecentMonths:
    months: list[str]  # YYYY-MM, oldest first; the last is the month in progress
    partners: list[PartnerMonths]


def recent_months(runtime: Runtime, count: int = 12) -> RecentMonths:
    """The last `count` months (this one included) of every partner: a closed month as it was closed, an
    open one from the activities posted and reversed in it so far. Two set-based reads, whatever the
    number of activities."""
    with runtime.uow() as uow:
        book = runtime.catalog.current(uow)
        programme = programme_now(book, runtime.clock)
        current = today(runtime.clock, programme.timezone)
        firsts = [add_months(current.replace(day=1), -i) for i in reversed(range(count))]
        repo = SettlementRepository(uow.connection)
        live = {
            (r.partner, r.month): (int(r.issued), int(r.reversed)) for r in repo.issued_by_month(firsts[0])
        }
        closed = {(c.partner, c.month): c for c in repo.closed_since(firsts[0])}
    programmes = {m: book.in_force(end_of_month(m.year, m.month)) for m in firsts}
    names: dict[str, str] = {}
    for m in firsts:  # the latest name wins
        names |= {code: c.name for code, c in programmes[m].partners.items()}
    codes = sorted(set(programmes[firsts[-1]].partners) | {p for p, _ in live} | {p for p, _ in closed})
    partners = []
    for code in codes:
        lines = []
        for m in firsts:
            stored = closed.get((code, m))
            if stored is not None:
                lines.append(
                    MonthLine(
                        m.strftime("%Y-%m"),
                        True,
                        stored.miles_issued,
                        stored.miles_reversed,
                        stored.net_miles,
                        stored.amount_due,
                        stored.currency,
                    )
                )
                continue
            issued, reversed_ = live.get((code, m), (0, 0))
            contract = programmes[m].partners.get(code)
            due = None if contract is None else amount_due(issued - reversed_, contract.price_per_mile)
            currency = None if contract is None else contract.price_currency
            lines.append(
                MonthLine(m.strftime("%Y-%m"), False, issued, reversed_, issued - reversed_, due, currency)
            )
        partners.append(PartnerMonths(code, names.get(code, code), lines))
    return RecentMonths([m.strftime("%Y-%m") for m in firsts], partners)
