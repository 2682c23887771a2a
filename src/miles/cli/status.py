"""`miles status`: the health of the system in one table (built by `status_table.py`)."""

from __future__ import annotations

from typing import Annotated

import typer

from miles.cli.consoles import out
from miles.cli.database import database_url
from miles.config import settings


def status(
    worker_timeout: Annotated[
        float, typer.Option(metavar="SECONDS", help="seconds to wait for the workers' answers")
    ] = 1.0,
) -> None:
    """The health of the database, the broker, the workers and the last nightly run.

    The exit code is 1 when the database or the broker (if one is configured) is not healthy."""
    from miles.cli.status_table import show_status

    url = database_url()
    raise typer.Exit(show_status(url, settings().broker_url, out, worker_timeout))
