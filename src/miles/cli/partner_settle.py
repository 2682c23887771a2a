"""`miles partners settle --month YYYY-MM [--out DIR]`: close a month that is over for every partner of
the programme, write each partner's CSV statement (with a progress bar) and print the settlements.

Run again, it closes nothing new: it prints the month as it was closed and writes the statements anew
(the same figures: a closed month never changes)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from miles.cli.consoles import err, out
from miles.cli.database import command_runtime, database_url

DEFAULT_OUT = Path("settlements")


def partners_settle(
    month: Annotated[
        str, typer.Option("--month", metavar="YYYY-MM", help="the month to close (it must be over)")
    ],
    folder: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="where the statements are written", file_okay=False)
    ] = DEFAULT_OUT,
) -> None:
    """Close a month for every partner and write each partner's statement (CSV) into DIR."""
    raise typer.Exit(settle(database_url(), month, folder, out, err))


def closed_by() -> str:
    """`cli:` and the operating-system user running the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name, no passwd entry: the uid says who
        user = str(os.getuid())
    return f"cli:{user}"[:200]


def settle(url: str, month_text: str, folder: Path, out: Console, err: Console) -> int:
    """Exit code: 0 closed (now or before) and written, 2 the month cannot be closed."""
    from miles.domain.errors import MilesError
    from miles.domain.finance.months import parse_month
    from miles.services.partners.settlement import close_month, write_statement

    with command_runtime(url) as runtime:
        try:
            month = parse_month(month_text.strip(), field="--month")
            closings = close_month(runtime, month, closed_by())
        except MilesError as exc:
            err.print(f"[red]{escape(exc.message)}[/red]")
            return 2
        if not closings:
            err.print(f"[yellow]the programme has no partners in {month:%Y-%m}: nothing to settle[/yellow]")
            return 0
        already = sum(c.already for c in closings)
        if already:
            err.print(
                f"{month:%Y-%m} was already closed ({already} of {len(closings)} partners): "
                "its figures as closed, its statements written again"
            )
        columns = (
            TextColumn("[bold]statements[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[partner]} {task.fields[lines]:,} lines"),
            TimeElapsedColumn(),
        )
        files: dict[str, Path] = {}
        with Progress(*columns, console=err, transient=False) as progress:
            bar = progress.add_task("statements", total=len(closings), partner="", lines=0)

            def lines(done: int) -> None:
                progress.update(bar, lines=done)

            for closing in closings:
                view = closing.view
                progress.update(bar, partner=view.partner, lines=0)
                files[view.partner] = write_statement(runtime, view, folder, progress=lines)
                progress.advance(bar)
    state = " (already closed)" if already == len(closings) else ""
    table = Table(title=f"partner settlements {month:%Y-%m}{state}")
    for name in ("partner", "month", "activities", "issued", "reversed", "net", "price", "amount due"):
        table.add_column(name, justify="right" if name not in ("partner", "month") else "left")
    table.add_column("currency")
    table.add_column("file", overflow="fold")
    for closing in closings:
        v = closing.view
        table.add_row(
            escape(v.partner),
            v.month,
            f"{v.activities:,}",
            f"{v.miles_issued:,}",
            f"{v.miles_reversed:,}",
            f"{v.net_miles:,}",
            str(v.price_per_mile),
            f"{v.amount_due:,}",
            v.currency,
            escape(str(files[v.partner])),
        )
    out.print(table)
    return 0
