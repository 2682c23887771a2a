"""The embedded default: with no MILES_DATABASE_URL, the CLI starts its own PostgreSQL and works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def clean_ledger() -> None:
    """This test does not touch the shared test database."""


def test_without_a_database_url_the_cli_runs_on_an_embedded_postgresql(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILES_")}
    env["MILES_DATA_DIR"] = str(tmp_path / "data")
    command = [sys.executable, "-m", "miles.cli", "apikey", "create", "ops", "--scope", "admin"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1].startswith("mk_")
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").exists()
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert again.returncode == 0, again.stderr  # the data folder is kept and reused
    assert again.stdout.strip().splitlines()[-1] != first.stdout.strip().splitlines()[-1]
    status = subprocess.run(
        [sys.executable, "-m", "miles.cli", "status"],
        env=env | {"COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert status.returncode == 0, status.stdout + status.stderr  # `miles status` on the embedded default
    assert "no broker configured: jobs run in-process" in status.stdout
