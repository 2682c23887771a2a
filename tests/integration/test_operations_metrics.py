"""/metrics reads what operators watch from the database at scrape time (the same numbers from every API
process): redemptions by status, saga durations, open holds and their ages, the outbox, unsent warnings,
the last nightly run. A database that does not answer is `miles_database_up 0`, never a failed scrape;
the API's own counters are summed over the processes of `miles serve --workers N`."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

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

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


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
        with runner.uow() as uow:
            start = start_run(uow, runner.clock, runner.nightly, night)
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
            with runner.uow() as uow:
                if run_progress(uow, start.run_id).status == "done":
                    break
            assert time.monotonic() < deadline, "the night did not finish"
            time.sleep(0.05)
        runner.dispatcher.drain()  # type: ignore[attr-defined]
        done = scrape(client)
        with runner.uow() as uow:
            report = run_report(uow, night)
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
    assert value(done, "miles_expiry_warnings_unsent") >= 0


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
