"""`miles apikey ...`: API keys for booking systems."""

from __future__ import annotations

from typing import Annotated

import typer

from miles.cli.consoles import err
from miles.cli.database import database_url, unit_of_work
from miles.cli.help_text import Command, Group

apikey_app = typer.Typer(cls=Group, help="API keys for booking systems.", no_args_is_help=True)


@apikey_app.command("create", cls=Command)
def apikey_create(
    name: str,
    scope: Annotated[
        list[str], typer.Option("--scope", "-s", metavar="SCOPE", help="repeat for several scopes")
    ],
) -> None:
    """Make an API key; the key is printed once, on the last line."""
    from miles.domain.errors import InvalidInput
    from miles.services.apikeys import create_key

    url = database_url()
    try:
        with unit_of_work(url) as uow:
            token = create_key(uow, name, scope)
    except InvalidInput as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    err.print(f"API key {name!r} with scopes {', '.join(sorted(set(scope)))} (shown once, keep it safe):")
    print(token)
