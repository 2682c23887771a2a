"""Fault tests reuse the integration fixtures: a fresh database, a live server, invariants after each test."""

from __future__ import annotations

import pytest

from tests.integration.conftest import (  # noqa: F401  (fixtures)
    api_key,
    clean_ledger,
    client,
    clock,
    container,
    engine,
    live_server,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)
