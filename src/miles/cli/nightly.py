"""`miles nightly`: run the nightly job now and print its report (the work is in `nightly_run.py`)."""

from __future__ import annotations

from typing import Annotated

import typer

from miles.cli.consoles import err, out
from miles.cli.database import database_url
from miles.config import settings


def nightly(
    run_date: Annotated[
        str | None,
        typer.Option(
            "--date", metavar="DATE", help="the run date, YYYY-MM-DD (default: today, programme's zone)"
        ),
    ] = None,
    wait: Annotated[bool, typer.Option(help="follow the run to its end and print its report")] = True,
    timeout: Annotated[
        float | None, typer.Option(metavar="SECONDS", help="stop following after this many seconds")
    ] = None,
) -> None:
    """Run the nightly job now (requalification, expiry, warnings) with a progress bar; print its report."""
    from miles.cli.nightly_run import run_nightly

    url = database_url()
    raise typer.Exit(run_nightly(url, settings().broker_url, run_date, wait, timeout, out, err))
