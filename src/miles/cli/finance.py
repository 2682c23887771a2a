"""`miles finance ...`: close a month (once, in order, only when it is over), show a month, export CSVs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from miles.cli.consoles import err, out
from miles.cli.database import command_runtime, database_url
from miles.cli.help_text import Command, Group
from miles.cli.partner_settle import closed_by

if TYPE_CHECKING:
    from miles.services.finance.views import PeriodView
    from miles.services.runtime import Runtime

finance_app = typer.Typer(
    cls=Group,
    help="Finance: the month-end close of the miles liability, breakage and revenue.",
    no_args_is_help=True,
)
MonthOption = Annotated[str, typer.Option("--month", metavar="YYYY-MM", help="the month")]
OutOption = Annotated[
    Path, typer.Option("--out", metavar="DIR", help="where the CSV files are written", file_okay=False)
]


@finance_app.command("close", cls=Command)
def finance_close(month: MonthOption, folder: OutOption = Path("finance")) -> None:
    """Close a month that is over (once; months close in order) and write its CSV files into DIR."""
    raise typer.Exit(close(database_url(), month, folder, out, err))


@finance_app.command("show", cls=Command)
def finance_show(month: MonthOption) -> None:
    """A month's figures: as closed, or measured as it stands (not stored)."""
    raise typer.Exit(show(database_url(), month, out, err))


@finance_app.command("export", cls=Command)
def finance_export(month: MonthOption, folder: OutOption = Path("finance")) -> None:
    """Write a month's CSV files (its figures, cohorts and liability) and every closed month's summary."""
    raise typer.Exit(export(database_url(), month, folder, out, err))


def _table(view: PeriodView, title: str) -> Table:
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for source, miles in view.miles_issued.items():
        table.add_row(f"miles issued: {source}", f"{miles:,}")
    rows = [
        ("miles redeemed", f"{view.miles_redeemed:,}"),
        ("miles expired", f"{view.miles_expired:,}"),
        ("miles outstanding", f"{view.miles_outstanding:,}"),
        ("debts (no lot carries)", f"{view.debts:,}"),
        ("held for awards in progress", f"{view.miles_held:,}"),
        ("breakage rate (young cohorts)", f"{view.breakage_rate} ({view.breakage_basis})"),
        (f"deferred revenue opening ({view.currency})", view.deferred_revenue_opening),
        ("deferred in the month", view.deferred_revenue_in_month),
        ("revenue recognised", view.revenue_recognised),
        ("deferred revenue closing", view.deferred_revenue_closing),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _write(runtime: Runtime, month: date, folder: Path) -> list[Path]:
    from miles.services.finance.exports import write_month

    return write_month(runtime, month, folder)


def close(url: str, month_text: str, folder: Path, out: Console, err: Console) -> int:
    """Exit code: 0 closed (now or before) and written, 2 the month cannot be closed."""
    from miles.domain.errors import MilesError
    from miles.domain.finance.months import parse_month
    from miles.services.finance.close import close_month
    from miles.services.finance.views import period_view

    with command_runtime(url) as runtime:
        try:
            month = parse_month(month_text.strip(), field="--month")
            closing = close_month(runtime, month, closed_by())
        except MilesError as exc:
            err.print(f"[red]{escape(exc.message)}[/red]")
            return 2
        if closing.already:
            err.print(f"{month:%Y-%m} was already closed: its figures as closed, its files written again")
        files = _write(runtime, month, folder)
    view = period_view(closing.measured, closed=True)
    out.print(_table(view, f"finance {view.month} (closed by {escape(str(view.closed_by))})"))
    for path in files:
        out.print(f"wrote {escape(str(path))}")
    return 0


def show(url: str, month_text: str, out: Console, err: Console) -> int:
    from miles.domain.errors import MilesError
    from miles.domain.finance.months import parse_month
    from miles.services.finance.close import period_for
    from miles.services.finance.views import period_view

    with command_runtime(url) as runtime:
        try:
            read = period_for(runtime, parse_month(month_text.strip(), field="--month"))
        except MilesError as exc:
            err.print(f"[red]{escape(exc.message)}[/red]")
            return 2
    view = period_view(read.measured, read.closed)
    out.print(
        _table(view, f"finance {view.month} ({'closed' if read.closed else 'not closed: as it stands'})")
    )
    return 0


def export(url: str, month_text: str, folder: Path, out: Console, err: Console) -> int:
    from miles.domain.errors import MilesError
    from miles.domain.finance.months import parse_month

    with command_runtime(url) as runtime:
        try:
            files = _write(runtime, parse_month(month_text.strip(), field="--month"), folder)
        except MilesError as exc:
            err.print(f"[red]{escape(exc.message)}[/red]")
            return 2
    for path in files:
        out.print(f"wrote {escape(str(path))}")
    return 0
