"""Shared fixtures: a fresh PostgreSQL database per test run, built by the real migrations."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from miles.adapters.db.engine import sqlalchemy_url


def _server_url() -> Iterator[str]:
    url = os.environ.get("MILES_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if shutil.which("docker") and os.path.exists("/var/run/docker.sock"):
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver=None) as pg:
            yield pg.get_connection_url()
        return
    pytest.exit(
        "set MILES_TEST_DATABASE_URL=postgresql://user@host:port/db (or run where Docker is available)",
        returncode=3,
    )


@contextmanager
def migrated_database(server_url: str, revision: str | None = "head") -> Iterator[str]:
    """A new database on the server, migrated with Alembic up to `revision` (None: left empty), dropped
    after: its URL."""
    from miles.adapters.db.migrate import upgrade

    name = f"miles_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        if revision is not None:
            upgrade(url, revision)
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_tiers_reached(url: str) -> None:
    """What `miles db upgrade` does after the migrations: the tier-reached function made the reference
    programme's (a test loading another programme makes it that one's)."""
    from miles.adapters.db.tier_reached import TierReachedRepository
    from miles.programme.reading import read_reference

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as c:
            TierReachedRepository(c).install(read_reference().versions[-1])
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database of its own for this run (and this xdist worker), migrated with Alembic and the reference
    programme's tiers reached written as `miles db upgrade` does, dropped after."""
    for server in _server_url():
        with migrated_database(server) as url:
            write_tiers_reached(url)
            yield url
