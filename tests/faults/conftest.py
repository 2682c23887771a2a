"""Fault tests reuse the integration fixtures (a clean ledger, the app in-process, invariants after each
test), but each gets a database, an engine and a live server of its own: they kill connections and
processes, and nothing they kill may be another test's (a server or pool shared by the session would answer
the next test with a 503)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from miles.adapters.db.engine import make_engine
from tests.conftest import _server_url, migrated_database
from tests.integration.conftest import (  # noqa: F401  (fixtures)
    api_key,
    clean_ledger,
    client,
    clock,
    container,
)
from tests.integration.served import served


@pytest.fixture
def database_url() -> Iterator[str]:
    for server in _server_url():
        with migrated_database(server) as url:
            yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=20)
    yield engine
    engine.dispose()


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A real `miles serve` (two processes) on this test's own database."""
    with served(database_url, tmp_path, "--workers", "2") as server:
        yield server.base


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)
