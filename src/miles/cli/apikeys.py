"""`miles apikey ...`: API keys for booking systems: create (optionally expiring), list, revoke."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from miles.cli.consoles import err, out
from miles.cli.database import command_runtime, database_url
from miles.cli.help_text import Command, Group

if TYPE_CHECKING:
    from miles.services.clock import Clock

apikey_app = typer.Typer(cls=Group, help="API keys for booking systems.", no_args_is_help=True)

MAX_DAYS = 3660  # ten years


@apikey_app.command("create", cls=Command)
def apikey_create(
    name: Annotated[str, typer.Argument(help="who the key is for, e.g. the booking system's name")],
    scope: Annotated[
        list[str], typer.Option("--scope", "-s", metavar="SCOPE", help="repeat for several scopes")
    ],
    expires_in: Annotated[
        int | None,
        typer.Option(
            metavar="DAYS", min=1, max=MAX_DAYS, help="the key stops working this many days from now"
        ),
    ] = None,
    expires_at: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="the key stops working at this instant: YYYY-MM-DD (midnight UTC) or an ISO 8601 date-time",
        ),
    ] = None,
    partner: Annotated[
        str | None,
        typer.Option(
            metavar="CODE", help="bind the key to this partner: refused on any other partner's routes"
        ),
    ] = None,
) -> None:
    """Make an API key; the key is printed once, on the last line."""
    from miles.bootstrap import configured_clock
    from miles.domain.errors import InvalidInput
    from miles.services.apikeys import create_key

    clock = configured_clock()
    expiry = _expiry(expires_in, expires_at, clock)
    url = database_url()
    try:
        with command_runtime(url) as runtime:
            token = create_key(runtime, name, scope, expires_at=expiry, partner=partner)
    except InvalidInput as exc:
        err.print(f"[red]{escape(exc.message)}[/red]")
        raise typer.Exit(2) from exc
    until = "" if expiry is None else f", valid until {_when(expiry)}"
    until += "" if partner is None else f", bound to the partner {partner}"
    err.print(
        f"API key {escape(repr(name))} with scopes {escape(', '.join(sorted(set(scope))))}{until} "
        "(shown once, keep it safe):"
    )
    print(token)


@apikey_app.command("list", cls=Command)
def apikey_list() -> None:
    """Every API key: id, name, scopes, when it was made, expires, was revoked and last used."""
    from miles.bootstrap import configured_clock
    from miles.services.apikeys import list_keys

    now = configured_clock().now()
    with command_runtime(database_url()) as runtime:
        keys = list_keys(runtime)
    table = Table(
        "id", "name", "prefix", "scopes", "created", "expires", "revoked", "last used", "state", "partner"
    )
    for key in keys:
        if key.revoked_at is not None:
            state = "[red]revoked[/red]"
        elif key.expires_at is not None and key.expires_at <= now:
            state = "[yellow]expired[/yellow]"
        else:
            state = "[green]active[/green]"
        table.add_row(
            str(key.id),
            escape(key.name),
            key.key_prefix,
            ", ".join(key.scopes),
            _when(key.created_at),
            _when(key.expires_at),
            _when(key.revoked_at),
            _when(key.last_used_at),
            state,
            key.partner or "",
        )
    out.print(table)
    out.print(f"{len(keys)} key{'' if len(keys) == 1 else 's'}")


@apikey_app.command("revoke", cls=Command)
def apikey_revoke(
    key: Annotated[
        str, typer.Argument(metavar="NAME|ID", help="a key's id, or a name: all keys of that name")
    ],
) -> None:
    """Revoke a key for good: every API process refuses it within a few seconds."""
    from miles.domain.errors import InvalidInput
    from miles.services.apikeys import MAX_CACHE_SECONDS, revoke_keys

    try:
        with command_runtime(database_url()) as runtime:
            found, revoked = revoke_keys(runtime, key)
    except InvalidInput as exc:
        err.print(f"[red]{escape(exc.message)}[/red]")
        raise typer.Exit(2) from exc
    for record in found:
        what = "revoked" if record.id in revoked else "was already revoked"
        out.print(f"key {record.id} {escape(repr(record.name))} ({record.key_prefix}) {what}")
    if revoked:
        out.print(f"refused by every API process within {MAX_CACHE_SECONDS:g} s")


def _expiry(days: int | None, at: str | None, clock: Clock) -> datetime | None:
    if days is not None and at is not None:
        err.print("[red]give --expires-in or --expires-at, not both[/red]")
        raise typer.Exit(2)
    if days is not None:
        return clock.now() + timedelta(days=days)
    if at is None:
        return None
    try:
        if len(at) == 10:
            return datetime.combine(date.fromisoformat(at), time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(at)
    except ValueError:
        err.print(
            f"[red]--expires-at {escape(repr(at))} is not a date (YYYY-MM-DD) or an ISO date-time[/red]"
        )
        raise typer.Exit(2) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
