"""Exactly once with real processes: `miles worker` and `miles beat` on a Redis of the test's own.

Each test first runs the same members through a clean in-process night to know what the night must
do, then does it again through Celery while something goes wrong, and compares."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path

import redis
from sqlalchemy import Engine, text

from miles.bootstrap import Container, build_container
from miles.services.clock import FixedClock
from miles.services.nightly.config import NightlyConfig
from miles.services.nightly.report import report_of_run
from miles.services.nightly.runs import CHUNK_JOB, START_JOB, start_run
from tests.integration.conftest import reset
from tests.integration.nightly_data import MemberSpec, night_runner, random_specs, run_night, seed, snapshot
from tests.integration.workers import RedisServer, celery_worker, miles_process, redis_server, stop
from workers.app import make_celery

NIGHT = date(2028, 3, 1)
CHUNK_SIZE = 20
MEMBERS = 200  # 10 chunks


@dataclass(frozen=True)
class Outcome:
    totals: tuple[object, ...]
    state: dict[str, object]


def outcome(engine: Engine, container: Container, run_id: int) -> Outcome:
    r = report_of_run(container, run_id)
    return Outcome(
        (r.status, r.chunks, r.chunks_done, r.members, r.expiry, r.warnings_queued), snapshot(engine)
    )


def clean_night(database_url: str, engine: Engine, specs: list[MemberSpec]) -> Outcome:
    """What the night does to these members when nothing goes wrong; the ledger is empty again after."""
    seed(engine, specs)
    with night_runner(database_url, chunk_size=CHUNK_SIZE) as container:
        run_night(container, NIGHT)
        expected = outcome(engine, container, run_id=1)
    with engine.connect() as c:  # the night posted every pending stay due by then, and only those
        posted, due = c.execute(
            text(
                "SELECT count(*) FILTER (WHERE status = 'posted'), count(*) FILTER (WHERE posts_on <= :night) "
                "FROM partner_activities"
            ),
            {"night": NIGHT},
        ).one()
    assert posted == due > 0
    reset(engine)
    seed(engine, specs)
    return expected


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "MILES_CLOCK_AT": datetime.combine(NIGHT, day_time(3, 0), tzinfo=UTC).isoformat(),
        "MILES_NIGHTLY_CHUNK_SIZE": str(CHUNK_SIZE),
        "MILES_DATA_DIR": str(tmp_path),
        "MILES_NIGHTLY_RECONCILE_SECONDS": "1",
        "MILES_NIGHTLY_STALE_SECONDS": "3",
        **extra,
    }


@contextmanager
def celery_container(database_url: str, broker_url: str) -> Iterator[Container]:
    """A container that sends jobs to the Celery workers, its clock on the night."""
    clock = FixedClock(datetime.combine(NIGHT, day_time(3, 0), tzinfo=UTC))
    container = build_container(database_url, clock=clock, pool_size=2, broker_url=broker_url)
    container.nightly = NightlyConfig(chunk_size=CHUNK_SIZE)
    try:
        yield container
    finally:
        container.engine.dispose()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def run_done(engine: Engine) -> bool:
    with engine.connect() as c:
        return c.execute(text("SELECT status FROM nightly_runs")).scalar() == "done"


def chunks_done(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM nightly_chunks WHERE state = 'done'")).scalar_one())


def chunk_in_progress(engine: Engine) -> bool:
    """A pending chunk whose row a transaction still running has locked (the row's xmax is that
    transaction's id). Read without taking a lock: a probe that locked the free chunks itself, even for a
    moment, made a worker that came for one then skip it as being done by someone else."""
    with engine.connect() as c:
        return bool(
            c.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM nightly_chunks c JOIN pg_stat_activity a ON a.backend_xid = c.xmax "
                    "WHERE c.state = 'pending' AND a.datname = current_database())"
                )
            ).scalar_one()
        )


def handled(broker_url: str, task: str) -> int:
    """How many `task` jobs the workers have finished so far (Celery's remote-control stats)."""
    replies = make_celery(broker_url).control.inspect(timeout=2).stats() or {}
    return sum(int(reply.get("total", {}).get(task, 0)) for reply in replies.values())


def queues_empty(server: RedisServer) -> bool:
    client = redis.Redis(port=server.port)
    return client.llen("nightly") == 0 and client.hlen("unacked") == 0


def logged_process(
    command: list[str], database_url: str, broker_url: str, log: Path, **extra: str
) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "MILES_DATABASE_URL": database_url, "MILES_BROKER_URL": broker_url, **extra}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "miles.cli", *command],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def test_two_beat_processes_on_the_same_night_run_it_once(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    expected = clean_night(database_url, engine, random_specs(MEMBERS, seed_value=11))
    settings = env(tmp_path, MILES_NIGHTLY_EVERY_SECONDS="1")
    logs = [tmp_path / "beat-1.log", tmp_path / "beat-2.log"]
    with redis_server() as server, celery_worker(database_url, server.url, **settings):
        beats = [
            logged_process(["beat"], database_url, server.url, log, MILES_LOG_LEVEL="info", **settings)
            for log in logs
        ]
        try:
            wait_until(lambda: run_done(engine), 90, "the night to finish")
            wait_until(
                lambda: all(log.read_text().count("miles.nightly.start") >= 3 for log in logs),
                30,
                "both beats to fire the night a few times",
            )
            wait_until(lambda: queues_empty(server), 30, "every start to be handled")
        finally:
            for beat in beats:
                stop(beat)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM nightly_runs")).scalar_one() == 1
        once = c.execute(
            text("SELECT max(n) FROM (SELECT count(*) AS n FROM tier_changes GROUP BY member_id) s")
        ).scalar_one()
        assert once == 1
    with celery_container(database_url, server.url) as container:
        assert outcome(engine, container, run_id=1) == expected


def test_a_worker_killed_mid_chunk_leaves_it_to_the_reconciler_and_the_totals_equal_a_clean_run(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    expected = clean_night(database_url, engine, random_specs(MEMBERS, seed_value=12))
    settings = env(tmp_path)
    with redis_server() as server:
        slow = miles_process(
            ["worker", "--concurrency", "1"],
            database_url,
            server.url,
            MILES_TEST_CHUNK_DELAY_SECONDS="60",
            **settings,
        )
        try:
            with celery_container(database_url, server.url) as container:
                start_run(container, NIGHT)
            wait_until(lambda: chunk_in_progress(engine), 60, "the worker to be in the middle of a chunk")
        finally:
            stop(slow, signal.SIGKILL)
        assert chunks_done(engine) == 0  # its work died with it, uncommitted
        wait_until(lambda: not chunk_in_progress(engine), 10, "the killed worker's transaction to end")
        beat = miles_process(["beat"], database_url, server.url, **settings)
        try:
            with celery_worker(database_url, server.url, **settings):
                wait_until(
                    lambda: run_done(engine), 90, "the reconciler and a new worker to finish the night"
                )
        finally:
            stop(beat)
    with engine.connect() as c:
        requeued = c.execute(text("SELECT count(*) FROM nightly_chunks WHERE enqueues > 1")).scalar_one()
    assert requeued >= 1
    with celery_container(database_url, server.url) as container:
        assert outcome(engine, container, run_id=1) == expected


def miles_nightly(
    database_url: str, broker_url: str, settings: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "MILES_DATABASE_URL": database_url,
        "MILES_BROKER_URL": broker_url,
        **settings,
    }
    return subprocess.run(
        [sys.executable, "-m", "miles.cli", "nightly", *args],
        env={**environment, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_task_delivered_twice_changes_nothing_the_second_time(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    expected = clean_night(database_url, engine, random_specs(MEMBERS, seed_value=13))
    settings = env(tmp_path)
    with redis_server() as server, celery_worker(database_url, server.url, **settings):
        started = miles_nightly(database_url, server.url, settings, "--no-wait")  # queued to the workers
        assert started.returncode == 0, started.stderr
        with celery_container(database_url, server.url) as container:
            for chunk_no in range(MEMBERS // CHUNK_SIZE):  # every chunk delivered twice while the night runs
                container.dispatcher.send(CHUNK_JOB, {"run_id": 1, "chunk_no": chunk_no})
            followed = miles_nightly(database_url, server.url, settings, "--date", NIGHT.isoformat())
            assert followed.returncode == 0, followed.stderr
            assert "joining it" in followed.stderr
            assert "nightly run 2028-03-01 of Aurora Miles: done" in followed.stdout
            wait_until(lambda: queues_empty(server), 30, "the duplicates to be handled")
            assert outcome(engine, container, 1) == expected
            chunks_before, starts_before = handled(server.url, CHUNK_JOB), handled(server.url, START_JOB)
            for chunk_no in range(MEMBERS // CHUNK_SIZE):  # and every task once more after the night
                container.dispatcher.send(CHUNK_JOB, {"run_id": 1, "chunk_no": chunk_no})
            container.dispatcher.send(START_JOB, {})
            wait_until(
                lambda: (
                    handled(server.url, CHUNK_JOB) >= chunks_before + MEMBERS // CHUNK_SIZE
                    and handled(server.url, START_JOB) >= starts_before + 1
                ),
                30,
                "the workers to finish every late duplicate",
            )
            assert outcome(engine, container, 1) == expected
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM nightly_runs")).scalar_one() == 1


def test_redis_restarted_during_the_run_loses_nothing(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    expected = clean_night(database_url, engine, random_specs(MEMBERS, seed_value=14))
    settings = env(tmp_path, MILES_TEST_CHUNK_DELAY_SECONDS="0.4")
    with redis_server() as server:
        beat = miles_process(["beat"], database_url, server.url, **settings)
        try:
            with celery_worker(database_url, server.url, concurrency=1, **settings):
                with celery_container(database_url, server.url) as container:
                    start_run(container, NIGHT)
                wait_until(lambda: chunks_done(engine) >= 2, 60, "a few chunks to be done")
                assert not run_done(engine)
                lost = server.held_messages("nightly")
                assert lost >= 1, "no chunk was waiting in Redis when it died: the test would prove nothing"
                server.kill(keep_data=False)  # SIGKILL, and it comes back empty: every queued message is gone
                server.start()
                wait_until(lambda: run_done(engine), 120, "the night to finish after the restart")
        finally:
            stop(beat)
    with engine.connect() as c:  # the messages Redis lost were queued again by the reconciler
        assert c.execute(text("SELECT count(*) FROM nightly_chunks WHERE enqueues > 1")).scalar_one() >= 1
    with celery_container(database_url, server.url) as container:
        assert outcome(engine, container, run_id=1) == expected
