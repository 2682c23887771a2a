"""The database a command works on: MILES_DATABASE_URL, or the embedded PostgreSQL (started, migrated,
programme loaded); and the runtime the commands hand their use cases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from miles.cli.consoles import err
from miles.config import settings

if TYPE_CHECKING:
    from miles.bootstrap import Container


def database_url(migrate_embedded: bool = True) -> str:
    """MILES_DATABASE_URL, or the embedded PostgreSQL (started, migrated, programme loaded)."""
    url = settings().database_url
    if url:
        return url
    import typer
    from rich.markup import escape

    from miles.adapters.db.embedded import EmbeddedNotInstalled, embedded_database_url

    try:
        with err.status(f"starting the embedded PostgreSQL in {settings().data_dir} ..."):
            url = embedded_database_url(settings().data_dir)
    except EmbeddedNotInstalled as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    os.environ["MILES_DATABASE_URL"] = url
    settings.cache_clear()
    if migrate_embedded:
        upgrade(url)
    return url


def upgrade(url: str) -> int:
    """Apply every migration (connected to MILES_MIGRATION_DATABASE_URL when set: straight to PostgreSQL,
    past a transaction pooler); a database with no programme gets the reference programme; the tiers the
    periods reach are written for the thresholds in force: the periods written again."""
    from miles.adapters.db.migrate import upgrade as upgrade_schema
    from miles.services.programmes import ensure_programme

    upgrade_schema(settings().migration_database_url or url)
    with command_runtime(url) as runtime:
        return ensure_programme(runtime)


@contextmanager
def command_runtime(url: str) -> Iterator[Container]:
    """The runtime a command hands its use cases: one connection (a command runs one use case at a time),
    jobs run in this process; its engine is disposed when the command is done."""
    from miles.bootstrap import build_container

    container = build_container(url, pool_size=1)
    try:
        yield container
    finally:
        container.engine.dispose()


def need_broker() -> None:
    """Stop the command (exit code 2) when MILES_BROKER_URL is not set."""
    import typer

    if not settings().broker_url:
        err.print(
            "[red]set MILES_BROKER_URL (e.g. redis://127.0.0.1:6379/0); without it jobs run in-process[/red]"
        )
        raise typer.Exit(2)
