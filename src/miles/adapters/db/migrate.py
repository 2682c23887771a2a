"""Running the Alembic migrations from code (the CLI, the tests, the embedded default), one process at a
time, and where a database stands against the migrations this code ships."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from miles.adapters.db.engine import sqlalchemy_url

MIGRATIONS = Path(__file__).parent / "migrations"
# the key of the PostgreSQL advisory lock `upgrade` holds: one migrating process per database at a time
MIGRATION_LOCK_KEY = 7_334_119_046_021_100_001

log = logging.getLogger("miles.migrate")

Position = Literal["current", "behind", "ahead"]


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the migrations up to `revision`. Several processes may start it at once (every pod's init
    container of a release does): they take turns on a session advisory lock, so the first migrates and
    the others then find the head and do nothing."""
    with migration_lock(url):
        command.upgrade(alembic_config(url), revision)


@contextmanager
def migration_lock(url: str, poll_seconds: float = 0.5) -> Iterator[None]:
    """Hold the migration lock on a connection of its own (outside any transaction, so CREATE INDEX
    CONCURRENTLY in a migration does not wait on it); closing the connection releases it, also when the
    process dies."""
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try_lock = text("SELECT pg_try_advisory_lock(:k)")
    try:
        with engine.connect() as connection:
            waiting = False
            # polled, not waited for in one statement: a session blocked in pg_advisory_lock holds a
            # snapshot, and CREATE INDEX CONCURRENTLY in the holder's migration would wait for it forever
            while not connection.execute(try_lock, {"k": MIGRATION_LOCK_KEY}).scalar():
                if not waiting:
                    log.info("another process is migrating this database; waiting for it to finish")
                    waiting = True
                time.sleep(poll_seconds)
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()


@cache
def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str | None:
    """The newest migration this code ships."""
    return _scripts().get_current_head()


@cache
def position(revision: str | None) -> Position:
    """Where a database at `revision` stands against this code: at its head; behind it (no schema yet, or
    an older migration of this code: the code must not serve it); or ahead (a migration this code does
    not know, applied by a newer release: migrations are backward compatible for one release, so the
    code still serves it)."""
    if revision is None:
        return "behind"
    if revision == head_revision():
        return "current"
    known = {script.revision for script in _scripts().walk_revisions()}
    return "behind" if revision in known else "ahead"
