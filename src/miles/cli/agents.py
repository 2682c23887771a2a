"""`miles agent ...`: console users (agents and supervisors) for operators."""

from __future__ import annotations

from typing import Annotated

import typer

from miles.cli.consoles import err
from miles.cli.database import database_url, unit_of_work
from miles.cli.help_text import Command, Group

agent_app = typer.Typer(cls=Group, help="Console users: agents and supervisors.", no_args_is_help=True)


@agent_app.command("create", cls=Command)
def agent_create(
    name: str,
    role: Annotated[str, typer.Option(metavar="ROLE", help="agent | supervisor")] = "agent",
    password: Annotated[
        str | None,
        typer.Option(metavar="PASSWORD", help="asked for (hidden, twice) when not given", show_default=False),
    ] = None,
) -> None:
    """Create an agent or a supervisor who signs in to the console at /console."""
    from miles.domain.errors import Conflict, InvalidInput
    from miles.domain.validation import InvalidFields
    from miles.services.agents import create_agent
    from miles.services.clock import SystemClock

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    url = database_url()
    try:
        with unit_of_work(url) as uow:
            actor = create_agent(uow, SystemClock(), name, role, password)
    except InvalidFields as exc:
        for field, message in exc.by_field().items():
            err.print(f"[red]{field}: {message}[/red]")
        raise typer.Exit(2) from exc
    except (InvalidInput, Conflict) as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    assert actor.role is not None
    print(f"created {actor.role.value} {actor.name!r}: sign in at /console/sign-in")
