"""The database metrics' families, without a database: what a snapshot becomes, and a scrape that cannot
reach the database."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from miles.adapters.db.operations import Backlog, Buckets, HoldsState, OperationsCounts
from miles.api.metrics import metrics_registry
from miles.api.operations_metrics import DatabaseCollector
from miles.services.clock import FixedClock
from miles.services.nightly.report import ExpiryReport, MembersReport, PhasesReport, RunReport
from miles.services.operations import OperationsSnapshot, Probe

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _samples(registry_text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(registry_text)
        for s in family.samples
    }


def _snapshot() -> OperationsSnapshot:
    counts = OperationsCounts(
        redemptions={"PENDING": 2, "CONFIRMED": 5, "FAILED": 1, "CANCELLED": 0},
        sagas_unfinished={"booking": 2, "cancelling": 0, "releasing": 1},
        saga_durations={
            "CONFIRMED": Buckets((0.5, 1.0), (3, 4), 5, 7.5),
            "FAILED": Buckets((0.5, 1.0), (0, 0), 1, 30.0),
        },
        saga_window_seconds=900.0,
        holds=HoldsState(2, 1, 700.0, Buckets((60.0, 600.0), (1, 1), 2, 760.0)),
        outbox=Backlog(3, 4.5),
        warnings=Backlog(0, 0.0),
        warnings_failing=0,
        last_run_id=7,
    )
    report = RunReport(
        programme="Aurora Miles",
        run_date=date(2026, 11, 23),
        status="done",
        chunks=4,
        chunks_done=4,
        started_at=AT,
        finished_at=datetime(2026, 11, 23, 12, 0, 3, tzinfo=UTC),
        elapsed_ms=3000,
        members=MembersReport(100, 10, 6, 3, 1, 0),
        expiry=ExpiryReport("lots", 2, 3, 4500),
        warnings_queued=12,
        segment_transitions=12,
        phases=PhasesReport(250, 1200, 800, 40, 90),
    )
    return OperationsSnapshot(AT, counts, report)


def _unreachable():  # type: ignore[no-untyped-def]
    raise ConnectionRefusedError("no database here")


def test_a_scrape_that_cannot_reach_the_database_reports_it_down_and_nothing_else_from_it() -> None:
    s = _samples(
        generate_latest(metrics_registry(DatabaseCollector(Probe(_unreachable, FixedClock(AT))))).decode()
    )
    assert s[("miles_database_up", frozenset())] == 0
    assert not any(name.startswith("miles_redemptions") for name, _ in s)


def test_a_snapshot_becomes_gauges_and_gauge_histograms() -> None:
    from prometheus_client import CollectorRegistry
    from prometheus_client.registry import Collector

    from miles.api.operations_metrics import families

    class Fixed(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            yield from families(_snapshot())

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed())
    s = _samples(generate_latest(registry).decode())
    assert s[("miles_redemptions", frozenset({("status", "FAILED")}))] == 1
    assert s[("miles_saga_duration_seconds_bucket", frozenset({("status", "CONFIRMED"), ("le", "0.5")}))] == 3
    assert (
        s[("miles_saga_duration_seconds_bucket", frozenset({("status", "CONFIRMED"), ("le", "+Inf")}))] == 5
    )
    assert s[("miles_saga_duration_seconds_gsum", frozenset({("status", "CONFIRMED")}))] == 7.5
    assert s[("miles_hold_age_seconds_bucket", frozenset({("le", "600.0")}))] == 1
    assert s[("miles_holds_overdue", frozenset())] == 1
    assert s[("miles_outbox_oldest_age_seconds", frozenset())] == 4.5
    run = {("programme", "Aurora Miles"), ("run_date", "2026-11-23"), ("status", "done")}
    assert s[("miles_nightly_run_info", frozenset(run))] == 1
    assert (
        s[("miles_nightly_run_date_seconds", frozenset())] == datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    )
    assert s[("miles_nightly_run_phase_seconds", frozenset({("phase", "requalification")}))] == 1.2
    assert s[("miles_nightly_run_elapsed_seconds", frozenset())] == 3.0
    assert s[("miles_nightly_run_members", frozenset({("outcome", "up")}))] == 3


def test_settled_redemptions_are_counted_again_at_most_every_settled_max_age_and_pending_every_scrape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import miles.api.operations_metrics as module

    calls: list[bool] = []
    pending = iter([2, 1, 0])

    def fake_snapshot(probe, saga_bounds, hold_bounds, count_settled):  # type: ignore[no-untyped-def]
        calls.append(count_settled)
        counted = {"PENDING": next(pending)}
        if count_settled:
            counted |= {"CONFIRMED": 5 + len(calls), "FAILED": 1, "CANCELLED": 0}
        snapshot = _snapshot()
        return replace(snapshot, counts=replace(snapshot.counts, redemptions=counted))

    monkeypatch.setattr(module, "operations_snapshot", fake_snapshot)
    collector = DatabaseCollector(Probe(nullcontext, FixedClock(AT)), settled_max_age=3600, max_age=0)
    scrapes = [_samples(generate_latest(metrics_registry(collector)).decode()) for _ in range(3)]
    assert calls == [True, False, False]
    assert [s[("miles_redemptions", frozenset({("status", "PENDING")}))] for s in scrapes] == [2, 1, 0]
    assert {s[("miles_redemptions", frozenset({("status", "CONFIRMED")}))] for s in scrapes} == {6}


def test_a_reading_answers_every_scrape_for_max_age_and_one_scrape_at_a_time_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import miles.api.operations_metrics as module

    readings: list[float] = []
    inside = threading.Semaphore(0)
    go_on = threading.Event()

    def slow_snapshot(probe, saga_bounds, hold_bounds, count_settled):  # type: ignore[no-untyped-def]
        readings.append(time.monotonic())
        inside.release()
        go_on.wait(5)
        return _snapshot()

    monkeypatch.setattr(module, "operations_snapshot", slow_snapshot)
    collector = DatabaseCollector(
        Probe(nullcontext, FixedClock(AT)), max_age=30
    )  # fresh for the whole test...
    registry = metrics_registry(collector)
    with ThreadPoolExecutor(20) as scrapers:
        scrapes = [scrapers.submit(generate_latest, registry) for _ in range(20)]
        assert inside.acquire(timeout=5)  # one scrape reads; the 19 others wait for its reading
        time.sleep(0.2)
        assert len(readings) == 1
        go_on.set()
        answers = [_samples(f.result(5).decode()) for f in scrapes]
    assert len(readings) == 1
    assert all(a[("miles_redemptions", frozenset({("status", "FAILED")}))] == 1 for a in answers)
    assert all(a[("miles_database_up", frozenset())] == 1 for a in answers)
    again = _samples(generate_latest(registry).decode())
    assert len(readings) == 1  # still fresh
    assert 0 <= again[("miles_database_metrics_age_seconds", frozenset())] < 30
    collector.max_age = 0  # ...until it is older than max_age
    generate_latest(registry)
    assert len(readings) == 2  # read again once stale


def test_a_database_that_did_not_answer_is_remembered_as_down_for_max_age() -> None:
    calls: list[int] = []

    def unreachable():  # type: ignore[no-untyped-def]
        calls.append(1)
        raise ConnectionRefusedError("no database here")

    registry = metrics_registry(DatabaseCollector(Probe(unreachable, FixedClock(AT)), max_age=60))
    scrapes = [_samples(generate_latest(registry).decode()) for _ in range(5)]
    assert calls == [1]
    assert {s[("miles_database_up", frozenset())] for s in scrapes} == {0}


def test_while_one_scrape_reads_again_the_others_answer_the_last_reading_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import miles.api.operations_metrics as module

    pending = iter([1, 2])
    slow = threading.Event()
    inside = threading.Semaphore(0)
    go_on = threading.Event()

    def snapshot(probe, saga_bounds, hold_bounds, count_settled):  # type: ignore[no-untyped-def]
        if slow.is_set():
            inside.release()
            go_on.wait(5)
        s = _snapshot()
        return replace(
            s, counts=replace(s.counts, redemptions={**s.counts.redemptions, "PENDING": next(pending)})
        )

    monkeypatch.setattr(module, "operations_snapshot", snapshot)
    registry = metrics_registry(DatabaseCollector(Probe(nullcontext, FixedClock(AT)), max_age=0.2))
    pending_now = frozenset({("status", "PENDING")})
    assert _samples(generate_latest(registry).decode())[("miles_redemptions", pending_now)] == 1
    time.sleep(0.3)  # stale
    slow.set()
    with ThreadPoolExecutor(1) as reader:
        reading = reader.submit(generate_latest, registry)
        assert inside.acquire(timeout=5)  # that scrape is reading (slowly)
        started = time.perf_counter()
        meanwhile = _samples(generate_latest(registry).decode())
        assert time.perf_counter() - started < 1
        assert meanwhile[("miles_redemptions", pending_now)] == 1  # the last reading, at once
        assert meanwhile[("miles_database_metrics_age_seconds", frozenset())] >= 0.3
        go_on.set()
        assert _samples(reading.result(5).decode())[("miles_redemptions", pending_now)] == 2
