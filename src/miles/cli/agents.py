"""`miles agent ...`: console users (agents and supervisors) for operators: create, list, disable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from miles.cli.consoles import err, out
from miles.cli.database import command_runtime, database_url
from miles.cli.help_text import Command, Group

agent_app = typer.Typer(cls=Group, help="Console users: agents and supervisors.", no_args_is_help=True)


@agent_app.command("create", cls=Command)
def agent_create(
    name: str,
    role: Annotated[
        str, typer.Option(metavar="ROLE", help="agent | supervisor | manager | finance")
    ] = "agent",
    password: Annotated[
        str | None,
        typer.Option(metavar="PASSWORD", help="asked for (hidden, twice) when not given", show_default=False),
    ] = None,
) -> None:
    """Create an agent or a supervisor who signs in to the console at /console."""
    from miles.domain.errors import Conflict, InvalidInput
    from miles.domain.validation import InvalidFields
    from miles.services.agents import create_agent

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    url = database_url()
    try:
        with command_runtime(url) as runtime:
            actor = create_agent(runtime, name, role, password)
    except InvalidFields as exc:
        for field, message in exc.by_field().items():
            err.print(f"[red]{field}: {message}[/red]")
        raise typer.Exit(2) from exc
    except (InvalidInput, Conflict) as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    assert actor.role is not None
    print(f"created {actor.role.value} {actor.name!r}: sign in at /console/sign-in")


@agent_app.command("list", cls=Command)
def agent_list() -> None:
    """Every console user: name, role, when created, when disabled, and when they last signed in."""
    from miles.services.agents import list_agents

    with command_runtime(database_url()) as runtime:
        agents = list_agents(runtime)
    table = Table("name", "role", "created", "disabled", "last signed in")
    for agent in agents:
        table.add_row(
            escape(agent.name),
            agent.role,
            _when(agent.created_at),
            _when(agent.disabled_at),
            _when(agent.last_signed_in_at),
        )
    out.print(table)
    out.print(f"{len(agents)} console user{'' if len(agents) == 1 else 's'}")


@agent_app.command("disable", cls=Command)
def agent_disable(name: str) -> None:
    """Disable a console user: they can no longer sign in, and their sessions end at once."""
    from miles.domain.agents import Actor
    from miles.domain.errors import NotFound
    from miles.services.agents import disable_agent

    try:
        with command_runtime(database_url()) as runtime:
            agent, ended = disable_agent(runtime, name, Actor(name="cli"))
    except NotFound as exc:
        err.print(f"[red]{escape(exc.message)}[/red]")
        raise typer.Exit(2) from exc
    out.print(
        f"{agent.role} {escape(repr(agent.name))} disabled since {_when(agent.disabled_at)}: "
        f"{ended} session{'' if ended == 1 else 's'} ended now"
    )


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
