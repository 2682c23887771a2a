"""A `miles serve` process of a test's own, with its settings and its log (stderr) kept in a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.conftest import free_port, wait_healthy


@dataclass(frozen=True)
class Served:
    base: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        """The log's JSON lines (a line that is not JSON fails the test: every line must be)."""
        return [json.loads(line) for line in self.log_text().splitlines() if line.strip()]


@contextmanager
def served(database_url: str, log_dir: Path, *args: str, **settings: str) -> Iterator[Served]:
    """`miles serve` on a free port with MILES_* `settings` (e.g. LOG_LEVEL="info"), stopped after."""
    port = free_port()
    env = {**os.environ, "MILES_DATABASE_URL": database_url, "MILES_LOG_LEVEL": "warning"}
    env |= {f"MILES_{name.upper()}": value for name, value in settings.items()}
    log = log_dir / f"serve-{port}.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "miles.cli", "serve", "--port", str(port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield Served(base, log)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
