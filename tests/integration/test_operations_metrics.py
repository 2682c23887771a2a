"""/metrics reads what operators watch from the database at scrape time (the same numbers from every API
process): redemptions by status, saga durations, open holds and their ages, the outbox, unsent warnings,
the last nightly run. A database that does not answer is `miles_database_up 0`, never a failed scrape;
the API's own counters are summed over the processes of `miles serve --workers N`."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, Engine, text

from miles.adapters.db.engine import PROBE_APPLICATION_NAME
from miles.api import operations_metrics
from miles.api.app import create_app
from miles.bootstrap import Container, build_container
from miles.services.clock import FixedClock
from miles.services.nightly.report import run_progress, run_report
from miles.services.nightly.runs import start_run
from miles.services.redemptions.saga_runtime import BOOK
from tests.integration.conftest import NOW
from tests.integration.factories import enrol
from tests.integration.nightly_data import night_runner, random_specs, seed
from tests.integration.redemption_helpers import flight, grant_miles, redeem
from tests.integration.served import served

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(autouse=True)
def fresh_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests change the database (and the clock) between two scrapes: every scrape reads it again.
    The tests of the cache itself run `miles serve`, which keeps the default."""
    monkeypatch.setattr(operations_metrics, "CACHE_SECONDS", 0.0)


def scrape(client: TestClient | httpx.Client, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def pending_outbox(engine: Engine) -> list[tuple[int, str, dict[str, int]]]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT id, task, payload FROM task_outbox WHERE dispatched_at IS NULL ORDER BY id")
        )
        return [(int(r.id), r.task, r.payload) for r in rows]


def test_metrics_count_redemptions_by_status_saga_durations_open_holds_and_the_outbox(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 100_000)
    container.uow.after_commit = None  # the jobs stay in the outbox: nothing runs the sagas by itself
    waiting = redeem(client, member, flight()).json()["redemption_id"]
    booked = redeem(client, member, flight(destination="CDG")).json()["redemption_id"]
    [book] = [row for row in pending_outbox(engine) if row[2] == {"redemption_id": booked}]
    assert book[1] == BOOK

    clock.at = NOW + timedelta(seconds=2)  # the supplier confirms two seconds after the request
    container.run_job(BOOK, book[2])
    with engine.begin() as c:
        c.execute(text("UPDATE task_outbox SET dispatched_at = now() WHERE id = :id"), {"id": book[0]})
    left = pending_outbox(engine)
    assert left
    assert all(row[2] == {"redemption_id": waiting} for row in left)

    clock.at = NOW + timedelta(seconds=120)
    m = scrape(client)
    assert value(m, "miles_database_up") == 1
    assert value(m, "miles_redemptions", status="PENDING") == 1
    assert value(m, "miles_redemptions", status="CONFIRMED") == 1
    assert value(m, "miles_redemptions", status="FAILED") == 0
    assert value(m, "miles_redemptions", status="CANCELLED") == 0
    assert value(m, "miles_redemption_sagas_unfinished", step="booking") == 1
    assert value(m, "miles_redemption_sagas_unfinished", step="cancelling") == 0
    # the confirmed saga took 2 s: in the 2.5 s bucket and above, not in the 1 s one
    assert value(m, "miles_saga_duration_seconds_bucket", status="CONFIRMED", le="1.0") == 0
    assert value(m, "miles_saga_duration_seconds_bucket", status="CONFIRMED", le="2.5") == 1
    assert value(m, "miles_saga_duration_seconds_bucket", status="CONFIRMED", le="+Inf") == 1
    assert value(m, "miles_saga_duration_seconds_gsum", status="CONFIRMED") == 2.0
    assert value(m, "miles_saga_duration_seconds_gcount", status="FAILED") == 0
    assert value(m, "miles_saga_duration_window_seconds") == 900
    # the waiting redemption's hold: open for 120 s, not past its expiry
    assert value(m, "miles_holds_open") == 1
    assert value(m, "miles_holds_overdue") == 0
    assert value(m, "miles_hold_oldest_age_seconds") == 120
    assert value(m, "miles_hold_age_seconds_bucket", le="60.0") == 0
    assert value(m, "miles_hold_age_seconds_bucket", le="300.0") == 1
    assert value(m, "miles_outbox_pending") == len(left)
    assert 0 <= value(m, "miles_outbox_oldest_age_seconds") < 60
    assert value(m, "miles_expiry_warnings_unsent") == 0
    assert "miles_nightly_run_info" not in names(m)  # no night has run

    clock.at = NOW + timedelta(minutes=20)  # the confirmed saga ended more than 15 minutes ago
    later = scrape(client)
    assert value(later, "miles_saga_duration_seconds_gcount", status="CONFIRMED") == 0
    assert value(later, "miles_holds_overdue") == 1  # held for 10 minutes: the sweeper is late
    assert value(later, "miles_hold_age_seconds_bucket", le="1800.0") == 1
    assert value(later, "miles_hold_age_seconds_bucket", le="600.0") == 0


def test_metrics_follow_the_last_nightly_run_from_its_start_to_its_report(
    database_url: str, engine: Engine
) -> None:
    night = date(2028, 3, 1)
    seed(engine, random_specs(60, seed_value=7))
    with night_runner(database_url, chunk_size=25) as runner, TestClient(create_app(runner)) as client:
        runner.uow.after_commit = None  # planned and queued, no chunk done yet
        start = start_run(runner, night)
        running = scrape(client)
        assert (
            value(
                running,
                "miles_nightly_run_info",
                programme=start.programme,
                run_date="2028-03-01",
                status="running",
            )
            == 1
        )
        assert value(running, "miles_nightly_run_done") == 0
        assert value(running, "miles_nightly_run_chunks") == start.chunks == 3
        assert value(running, "miles_nightly_run_chunks_done") == 0
        assert value(running, "miles_outbox_pending") == 3  # a job per chunk
        assert (
            value(running, "miles_nightly_run_date_seconds") == datetime(2028, 3, 1, tzinfo=UTC).timestamp()
        )

        runner.uow.after_commit = runner.relay_outbox
        runner.relay_outbox()  # the chunks run in this process
        deadline = time.monotonic() + 60
        while True:
            if run_progress(runner, start.run_id).status == "done":
                break
            assert time.monotonic() < deadline, "the night did not finish"
            time.sleep(0.05)
        runner.dispatcher.drain()  # type: ignore[attr-defined]
        done = scrape(client)
        report = run_report(runner, night)
    assert value(done, "miles_nightly_run_done") == 1
    assert value(done, "miles_nightly_run_chunks_done") == 3
    assert report.elapsed_ms is not None
    assert value(done, "miles_nightly_run_elapsed_seconds") == report.elapsed_ms / 1000
    phases = {
        "plan": report.phases.plan_ms,
        "requalification": report.phases.requalification_ms,
        "expiry": report.phases.expiry_ms,
        "warnings": report.phases.warnings_ms,
    }
    for phase, ms in phases.items():
        assert value(done, "miles_nightly_run_phase_seconds", phase=phase) == ms / 1000
    assert value(done, "miles_nightly_run_members", outcome="processed") == report.members.processed == 60
    assert value(done, "miles_nightly_run_miles_expired") == report.expiry.miles
    with engine.connect() as c:
        unsent = c.execute(text("SELECT count(*) FROM expiry_warnings WHERE sent_at IS NULL")).scalar_one()
    assert value(done, "miles_expiry_warnings_unsent") == unsent


def test_metrics_answer_with_the_database_down_and_the_api_counters_still_there() -> None:
    broken = build_container("postgresql://postgres@127.0.0.1:1/nowhere")
    try:
        with TestClient(create_app(broken)) as tc:
            tc.get("/healthz")
            m = scrape(tc)
    finally:
        broken.engine.dispose()
    assert value(m, "miles_database_up") == 0
    assert "miles_http_request_seconds_bucket" in names(m)
    assert "miles_redemptions" not in names(m)


def test_an_openmetrics_scraper_gets_the_saga_durations_typed_as_a_gauge_histogram(
    client: TestClient,
) -> None:
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert "# TYPE miles_saga_duration_seconds gaugehistogram" in response.text
    assert response.text.rstrip().endswith("# EOF")


def test_api_counters_are_summed_over_every_process_of_serve_with_several_workers(live_server: str) -> None:
    """`live_server` is `miles serve --workers 2`: whichever process answers a scrape, it counts the
    requests every process served."""

    def healthz_count(samples: Samples) -> float:
        return samples.get(
            (
                "miles_http_request_seconds_count",
                frozenset({"method": "GET", "route": "/healthz", "status": "200"}.items()),
            ),
            0.0,
        )

    def fresh_scrape() -> Samples:
        with httpx.Client(base_url=live_server, timeout=10) as c:  # a new connection: any process
            return scrape(c)

    before = healthz_count(fresh_scrape())
    for _ in range(20):
        with httpx.Client(base_url=live_server, timeout=10) as c:
            assert c.get("/healthz").status_code == 200
    seen = {healthz_count(fresh_scrape()) for _ in range(10)}
    assert seen == {before + 20}


SCRAPERS = 100
SLOW_DATABASE_SECONDS = 2.0


def test_a_hundred_concurrent_scrapes_take_at_most_the_probes_small_pool_of_database_connections(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    """100 scrapers at once once took 88 of the database's 100 connections: a connection per scrape in
    flight, each held as long as the database took to answer. Each process now reads the database at most
    every 5 s, one scrape at a time, on the probe's pool of 2 connections at most. The database is made
    slow to answer for the storm (a table the metrics read is locked for 2 s), as it is when it matters.
    One API process: the old code's 40 threads would take 40 connections of the shared test server per
    process."""
    with served(database_url, tmp_path) as server:
        with httpx.Client(base_url=server.base, timeout=30) as warm:
            for _ in range(4):
                assert scrape(warm)[("miles_database_up", frozenset())] == 1
        time.sleep(operations_metrics.CACHE_SECONDS + 0.5)  # the reading is stale: the storm reads again
        with (
            engine.connect().execution_options(isolation_level="AUTOCOMMIT") as counter,  # fresh statistics
            engine.connect() as locker,
        ):
            before = _connections(counter)
            peaks = {"all": 0, "probe": 0}
            stop = threading.Event()

            def watch() -> None:
                while not stop.is_set():
                    now = _connections(counter)
                    peaks["all"] = max(peaks["all"], now["all"] - before["all"])
                    peaks["probe"] = max(peaks["probe"], now["probe"] - before["probe"])
                    time.sleep(0.01)

            locker.execute(text("LOCK TABLE expiry_warnings IN ACCESS EXCLUSIVE MODE"))
            watcher = threading.Thread(target=watch)
            watcher.start()
            many = httpx.Limits(max_connections=SCRAPERS, max_keepalive_connections=SCRAPERS)
            try:
                with (
                    httpx.Client(base_url=server.base, timeout=60, limits=many) as scrapers,
                    ThreadPoolExecutor(SCRAPERS) as pool,
                ):
                    storm = [pool.submit(scrape, scrapers) for _ in range(SCRAPERS)]
                    time.sleep(SLOW_DATABASE_SECONDS)
                    locker.rollback()  # the database answers again
                    answers = [f.result(60) for f in storm]
            finally:
                stop.set()
                watcher.join()
    assert len(answers) == SCRAPERS
    assert all(a[("miles_database_up", frozenset())] == 1 for a in answers)
    # the old code: +40 connections for one process (+88 measured for two), as many as scrapes in flight
    assert peaks["all"] <= 2, (before, peaks)
    assert peaks["probe"] <= 2, (before, peaks)


def _connections(c: Connection) -> dict[str, int]:
    """Client connections to this database but ours: all of them, and the probes' (by application_name)."""
    row = c.execute(
        text(
            "SELECT count(*) AS all, count(*) FILTER (WHERE application_name = :probe) AS probe "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ),
        {"probe": PROBE_APPLICATION_NAME},
    ).one()
    return {"all": int(row.all), "probe": int(row.probe)}


def test_with_a_metrics_token_set_a_scrape_without_it_is_refused_with_the_json_error(
    database_url: str, tmp_path: Path
) -> None:
    with (
        served(database_url, tmp_path, metrics_token="scrape-me-0123") as server,
        httpx.Client(base_url=server.base, timeout=30) as c,
    ):
        refused = [
            c.get("/metrics"),
            c.get("/metrics", headers={"Authorization": "Bearer scrape-me-0124"}),
            c.get("/metrics", headers={"Authorization": "Basic scrape-me-0123"}),
        ]
        allowed = scrape(c, Authorization="Bearer scrape-me-0123")
        health = c.get("/healthz")
    for response in refused:
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "metrics_token_required"
        assert "miles_" not in response.text
    assert allowed[("miles_database_up", frozenset())] == 1
    assert health.status_code == 200  # health checks ask for no token
