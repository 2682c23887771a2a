"""`miles suppliers`: show and change how the simulated suppliers behave (for demos and drills)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from miles.cli.consoles import err, out
from miles.cli.database import database_url
from miles.cli.help_text import Command, Group

suppliers_app = typer.Typer(
    cls=Group,
    help="The simulated suppliers (award seats, hotels, baggage): latency, failures, timeouts, saver seats.",
    no_args_is_help=True,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _engine() -> Engine:
    from miles.adapters.db.engine import make_engine

    return make_engine(database_url(), pool_size=1)


def _show(engine: Any) -> None:
    from miles.adapters.suppliers.simulated import SUPPLIERS, read_settings

    table = Table(
        "supplier", "latency ms", "failure rate", "unknown-outcome rate", "saver seats", "failure reason"
    )
    with engine.connect() as c:
        for name in SUPPLIERS:
            s = read_settings(c, name)
            table.add_row(
                name,
                str(s.latency_ms),
                f"{s.failure_rate:g}",
                f"{s.unknown_outcome_rate:g}",
                "yes" if s.saver_seats else "no",
                s.failure_reason,
            )
    out.print(table)


@suppliers_app.command("show", cls=Command)
def show() -> None:
    """How each simulated supplier behaves now."""
    engine = _engine()
    try:
        _show(engine)
    finally:
        engine.dispose()


@suppliers_app.command("set", cls=Command)
def set_(
    supplier: Annotated[str, typer.Argument(help="flights | hotels | baggage")],
    latency_ms: Annotated[
        int | None, typer.Option(min=0, max=600_000, metavar="MS", help="each call takes this long")
    ] = None,
    failure_rate: Annotated[
        float | None, typer.Option(min=0, max=1, metavar="RATE", help="share of bookings refused")
    ] = None,
    unknown_outcome_rate: Annotated[
        float | None,
        typer.Option(min=0, max=1, metavar="RATE", help="share of bookings made but answered with a timeout"),
    ] = None,
    saver_seats: Annotated[
        bool | None,
        typer.Option("--saver-seats/--no-saver-seats", help="whether saver award seats are offered"),
    ] = None,
    failure_reason: Annotated[
        str | None, typer.Option(metavar="TEXT", help="the reason a refused booking gives")
    ] = None,
) -> None:
    """Change some of a simulated supplier's settings; every API and worker process sees it at once."""
    from miles.adapters.suppliers.simulated import SUPPLIERS, write_settings

    if supplier not in SUPPLIERS:
        err.print(f"[red]no simulated supplier {supplier!r}; they are {', '.join(SUPPLIERS)}[/red]")
        raise typer.Exit(2)
    given = {
        "latency_ms": latency_ms,
        "failure_rate": failure_rate,
        "unknown_outcome_rate": unknown_outcome_rate,
        "saver_seats": saver_seats,
        "failure_reason": failure_reason,
    }
    engine = _engine()
    try:
        write_settings(engine, supplier, **{k: v for k, v in given.items() if v is not None})
        _show(engine)
    finally:
        engine.dispose()
