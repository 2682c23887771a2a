"""`miles db ...`: the database's schema."""

from __future__ import annotations

import typer

from miles.cli.consoles import out
from miles.cli.database import database_url, upgrade
from miles.cli.help_text import Command, Group

db_app = typer.Typer(cls=Group, help="The database.", no_args_is_help=True)


@db_app.command("upgrade", cls=Command)
def db_upgrade() -> None:
    """Apply every migration; a database with no programme gets the reference programme."""
    url = database_url(migrate_embedded=False)
    rewritten = upgrade(url)
    if rewritten:
        out.print(
            f"the tier reached of {rewritten:,} qualification period(s) written for the thresholds in force"
        )
    out.print("[green]database is up to date[/green]")
