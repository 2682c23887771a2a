"""`miles status` as operators run it: the database, the broker and its queues, the workers that answer,
the backlogs and the last nightly run; exit code 0 when the database and the broker are healthy, else 1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine

from miles.adapters.broker import responding_workers
from miles.adapters.db.migrate import head_revision
from miles.services.programmes import ensure_programme
from tests.integration.conftest import free_port
from tests.integration.nightly_data import night_runner, random_specs, run_night, seed
from tests.integration.workers import RedisServer, SharedRedis, broker_redis, celery_worker


def status(database_url: str, broker_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MILES_BROKER_URL"}
    env |= {"MILES_DATABASE_URL": database_url, "COLUMNS": "400", "MILES_LOG_LEVEL": "warning"}
    if broker_url:
        env["MILES_BROKER_URL"] = broker_url
    return subprocess.run(
        [sys.executable, "-m", "miles.cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def line(output: str, section: str) -> str:
    """The report's line for `section` (the table's first column)."""
    for row in output.splitlines():
        if row.strip(" │|").startswith(section):
            return row
    raise AssertionError(f"no {section!r} line in:\n{output}")


@pytest.fixture
def redis() -> Iterator[SharedRedis | RedisServer]:
    with broker_redis() as server:  # MILES_TEST_REDIS_URL's Redis when it is free, else a private one
        yield server


def test_status_with_a_live_database_broker_and_worker_prints_every_section_and_exits_0(
    database_url: str, engine: Engine, redis: SharedRedis | RedisServer
) -> None:
    seed(engine, random_specs(30, seed_value=3))
    with night_runner(database_url, chunk_size=25) as runner:
        ensure_programme(runner)  # the reference programme, loaded as version 1
        run_night(runner, date(2028, 3, 1))
    with celery_worker(database_url, redis.url, concurrency=1):
        deadline = time.monotonic() + 60
        while not responding_workers(redis.url, timeout=1.0):
            assert time.monotonic() < deadline, "the worker did not start"
        result = status(database_url, redis.url)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "ok" in line(out, "database")
    assert f"revision {head_revision()} (the newest)" in line(out, "migrations")
    assert "Aurora Miles (version 1, loaded" in line(out, "programme")
    broker = line(out, "broker")
    assert "ok" in broker
    assert "default 0 waiting" in broker
    assert "nightly 0 waiting" in broker
    assert "1 responding: miles-" in line(out, "workers")
    assert "0 pending" in line(out, "redemptions")
    assert "0 open" in line(out, "holds")
    assert "outbox" in out
    assert "expiry warnings" in out
    night = line(out, "last nightly run")
    assert "2028-03-01 of Aurora Miles: done, 2 / 2 chunks done" in night
    assert "members 30 (" in line(out, "its report")
    assert out.rstrip().endswith("healthy")


def test_status_exits_1_when_the_broker_is_unreachable(database_url: str) -> None:
    result = status(database_url, f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "unreachable" in line(result.stdout, "broker")
    assert "ok" in line(result.stdout, "database")
    assert "not healthy" in result.stdout


def test_status_without_a_broker_says_jobs_run_in_process_and_exits_0(database_url: str) -> None:
    result = status(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no broker configured: jobs run in-process" in line(result.stdout, "workers")
    assert "none yet" in line(result.stdout, "last nightly run")


def test_status_exits_1_when_the_database_is_unreachable() -> None:
    result = status("postgresql://postgres:secret@127.0.0.1:1/nowhere")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "unreachable" in line(result.stdout, "database")
    assert "secret" not in result.stdout
