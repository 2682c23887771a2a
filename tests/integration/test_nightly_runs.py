"""The run and its chunks in-process: one run per night, a chunk done once, the reconciler, the report
over HTTP and from `miles nightly`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from miles.api.app import create_app
from miles.bootstrap import Container
from miles.domain.errors import Conflict, InvalidInput
from miles.services.nightly.chunks import ChunkOutcome, chunk_job, work_chunk
from miles.services.nightly.runs import reconcile_job, start_run
from tests.integration.conftest import make_key
from tests.integration.nightly_data import night_runner, random_specs, run_night, seed, snapshot

NIGHT = date(2028, 3, 1)


@pytest.fixture
def night(database_url: str) -> Iterator[Container]:
    with night_runner(database_url, chunk_size=25) as container:
        yield container


def outbox_count(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM task_outbox")).scalar_one())


def test_a_second_start_of_the_same_night_joins_the_first(engine: Engine, night: Container) -> None:
    seed(engine, random_specs(60, seed_value=1))
    report = run_night(night, NIGHT)
    queued = outbox_count(engine)
    again = start_run(night, NIGHT)
    assert not again.created
    assert again.status == "done"
    assert again.chunks == report.chunks == 3
    assert outbox_count(engine) == queued  # nothing planned or queued again


def test_concurrent_starts_make_one_run(engine: Engine, night: Container) -> None:
    seed(engine, random_specs(60, seed_value=2))
    barrier = threading.Barrier(4)
    results = []

    def start() -> None:
        barrier.wait()
        results.append(start_run(night, NIGHT))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    night.dispatcher.drain()  # type: ignore[attr-defined]
    assert sum(r.created for r in results) == 1
    assert len({r.run_id for r in results}) == 1
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM nightly_chunks")).scalar_one() == 3
    run_night(night, NIGHT)  # joins, waits for the end


def test_a_chunk_delivered_twice_changes_nothing_the_second_time(engine: Engine, night: Container) -> None:
    seed(engine, random_specs(60, seed_value=3))
    report = run_night(night, NIGHT)
    assert report.members.processed == 60
    assert report.status == "done"
    before = snapshot(engine)
    with engine.connect() as c:
        run_id = c.execute(text("SELECT id FROM nightly_runs")).scalar_one()
    outcomes = [chunk_job(night, run_id=run_id, chunk_no=n) for n in range(report.chunks)]
    assert outcomes == [ChunkOutcome.ALREADY_DONE.value] * report.chunks
    assert snapshot(engine) == before


def test_a_done_chunk_can_never_be_set_back_to_pending(engine: Engine, night: Container) -> None:
    seed(engine, random_specs(10, seed_value=5))
    run_night(night, NIGHT)
    with pytest.raises(DBAPIError, match="never redone"), engine.begin() as c:
        c.execute(text("UPDATE nightly_chunks SET state = 'pending', done_at = NULL"))


def test_a_busy_chunk_is_left_to_its_worker_and_a_lost_one_is_queued_again(
    engine: Engine, night: Container
) -> None:
    seed(engine, random_specs(60, seed_value=6))
    night.dispatcher = _Parked()  # chunks are queued but nobody runs them: as if their messages were lost
    start = start_run(night, NIGHT)
    assert start.chunks == 3
    assert reconcile_job(night) == 0  # queued a moment ago: not lost yet
    with engine.begin() as c:
        c.execute(text("UPDATE nightly_chunks SET enqueued_at = now() - interval '1 hour'"))
    with engine.connect() as worker:  # a worker in the middle of chunk 0
        transaction = worker.begin()
        worker.execute(text("SELECT 1 FROM nightly_chunks WHERE chunk_no = 0 FOR UPDATE"))
        with night.uow() as uow:
            assert work_chunk(uow, start.run_id, 0) is ChunkOutcome.BUSY
        assert reconcile_job(night) == 2  # chunks 1 and 2 are lost; chunk 0 is being done
        transaction.rollback()  # the worker dies: its lock goes with it
    assert reconcile_job(night) == 1  # now chunk 0 is lost too
    assert reconcile_job(night) == 0
    with engine.connect() as c:
        enqueues = dict(c.execute(text("SELECT chunk_no, enqueues FROM nightly_chunks")).all())
    assert enqueues == {0: 2, 1: 2, 2: 2}
    with night.uow() as uow:
        assert work_chunk(uow, start.run_id, 0) is ChunkOutcome.DONE
    with night.uow() as uow:
        assert work_chunk(uow, start.run_id, 0) is ChunkOutcome.ALREADY_DONE


class _Parked:
    """A dispatcher that keeps what it is sent: as if the messages were lost on the way."""

    def send(self, task: str, payload: dict[str, object], request_id: str | None = None) -> None:
        pass


def test_concurrent_deliveries_of_one_chunk_do_it_once(engine: Engine, night: Container) -> None:
    seed(engine, random_specs(60, seed_value=7))
    night.dispatcher = _Parked()
    start = start_run(night, NIGHT)
    barrier = threading.Barrier(3)
    outcomes: list[ChunkOutcome] = []

    def deliver() -> None:
        barrier.wait()
        with night.uow() as uow:
            outcomes.append(work_chunk(uow, start.run_id, 1, pause_seconds=0.3))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted([ChunkOutcome.DONE, ChunkOutcome.BUSY, ChunkOutcome.BUSY])
    for chunk_no in (0, 2):
        with night.uow() as uow:
            work_chunk(uow, start.run_id, chunk_no)


def test_a_run_date_in_the_future_or_before_the_last_run_is_refused(engine: Engine, night: Container) -> None:
    run_night(night, NIGHT)
    with pytest.raises(InvalidInput, match="future"):
        start_run(night, date(2036, 1, 1))
    with pytest.raises(Conflict, match="ran already"):
        start_run(night, date(2028, 2, 1))


def test_the_run_report_over_http_needs_the_member_read_scope(engine: Engine, night: Container) -> None:
    seed(engine, random_specs(40, seed_value=8))
    report = run_night(night, NIGHT)
    reader, writer = make_key(night, ["member:read"]), make_key(night, ["accrual:write", "member:write"])
    with TestClient(create_app(night)) as client:
        ok = client.get("/v1/nightly-runs/2028-03-01", headers={"Authorization": f"Bearer {reader}"})
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["status"] == "done"
        assert body["run_date"] == "2028-03-01"
        assert body["members"]["processed"] == 40
        assert body["members"]["up"] == report.members.up
        assert body["expiry"]["miles"] == report.expiry.miles
        assert set(body["phases"]) == {
            "plan_ms",
            "requalification_ms",
            "expiry_ms",
            "warnings_ms",
            "segments_ms",
        }
        missing = client.get("/v1/nightly-runs/2028-03-02", headers={"Authorization": f"Bearer {reader}"})
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "nightly_run_not_found"
        bad = client.get("/v1/nightly-runs/2028-02-30", headers={"Authorization": f"Bearer {reader}"})
        assert bad.status_code == 422
        forbidden = client.get("/v1/nightly-runs/2028-03-01", headers={"Authorization": f"Bearer {writer}"})
        assert forbidden.status_code == 403


def test_miles_nightly_runs_the_night_in_process_and_prints_its_report(
    database_url: str, engine: Engine
) -> None:
    seed(engine, random_specs(50, seed_value=9))
    env = {
        **os.environ,
        "MILES_DATABASE_URL": database_url,
        "MILES_CLOCK_AT": "2028-03-01T03:00:00+00:00",
        "MILES_NIGHTLY_CHUNK_SIZE": "20",
        "COLUMNS": "120",
    }
    env.pop("MILES_BROKER_URL", None)
    command = [sys.executable, "-m", "miles.cli", "nightly"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert "nightly run 2028-03-01 of Aurora Miles: done" in first.stdout
    assert "3/3" in first.stderr  # the progress bar over the chunks
    for label in (
        "tier up",
        "tier down",
        "kept their tier",
        "lifetime grants",
        "miles expired",
        "warnings queued",
    ):
        assert label in first.stdout
    again = subprocess.run(
        [*command, "--date", "2028-03-01"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0, again.stderr
    assert "exists (done): joining it" in again.stderr
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM nightly_runs")).scalar_one() == 1
    bad = subprocess.run(
        [*command, "--date", "2028-02-30"], env=env, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "not a date" in bad.stderr
