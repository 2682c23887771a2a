"""`miles agent ...`: console users (agents and supervisors) for operators."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

agent_app = typer.Typer(help="Console users: agents and supervisors.", no_args_is_help=True)
err = Console(stderr=True)


@agent_app.command("create")
def agent_create(
    name: str,
    role: Annotated[str, typer.Option(help="agent | supervisor")] = "agent",
    password: Annotated[
        str | None, typer.Option(help="asked for (hidden, twice) when not given", show_default=False)
    ] = None,
) -> None:
    """Create an agent or a supervisor who signs in to the console at /console."""
    from miles.cli import _uow, database_url
    from miles.domain.errors import Conflict, InvalidInput
    from miles.domain.validation import InvalidFields
    from miles.services.agents import create_agent
    from miles.services.clock import SystemClock

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    url = database_url()
    try:
        with _uow(url) as uow:
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


def demo_console_users(url: str) -> tuple[str, str, str]:
    """For `miles demo`: a new agent and a new supervisor sharing a fresh password (printed once)."""
    import secrets

    from miles.cli import _uow
    from miles.services.agents import create_agent
    from miles.services.clock import SystemClock

    suffix, password = secrets.token_hex(2), secrets.token_urlsafe(12)
    names = (f"demo-agent-{suffix}", f"demo-supervisor-{suffix}")
    with _uow(url) as uow:
        create_agent(uow, SystemClock(), names[0], "agent", password)
        create_agent(uow, SystemClock(), names[1], "supervisor", password)
    return names[0], names[1], password
