"""Metrics read from the database at scrape time: true across every API process and every worker, whoever
did the work. A database that does not answer makes `miles_database_up 0`, never a failed scrape.

Saga durations and hold ages are *gauge histograms*: cumulative bucket counts of what is true now (the
sagas that ended in the last 15 minutes; the holds open now), not counters since the process started, so
read them without rate(): `histogram_quantile(0.99, miles_saga_duration_seconds_bucket)` is the p99 of
the sagas that ended in the window."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from datetime import time as clock_time

from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from miles.services.operations import OperationsSnapshot, Probe, operations_snapshot

log = logging.getLogger("miles.metrics")

SAGA_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
HOLD_AGE_BUCKETS = (60.0, 300.0, 600.0, 1800.0, 3600.0, 21600.0, 86400.0)
SETTLED_MAX_AGE = 60.0  # seconds between two counts of the settled redemptions
CACHE_SECONDS = 5.0  # a reading of the database answers every scrape of this process for this long
WAIT_SECONDS = 5.0  # with no reading yet, a scrape waits this long for another's before answering without


@dataclass(frozen=True)
class _Reading:
    snapshot: OperationsSnapshot | None  # None: the database did not answer
    seconds: float  # how long the reading took
    at: float  # time.monotonic() when it was read


class DatabaseCollector(Collector):
    """A prometheus_client collector: one short transaction per reading, on the probe's own small pool
    (`probe`: the runtime it reads with, see miles.services.operations.probe).

    A reading answers every scrape of the process for `max_age` seconds (CACHE_SECONDS by default), and
    one scrape at a time reads (the others answer the previous reading meanwhile; with none yet, they wait
    for this one at most WAIT_SECONDS): 100 scrapers at once cost one reading, never 100 connections, nor
    100 threads waiting on a slow database. A database that does not answer is remembered as
    down for as long, so scrapers do not queue on its connect timeout either.

    The count of settled redemptions (CONFIRMED, FAILED, CANCELLED), the one statement that grows with the
    table, is read again at most every `settled_max_age` seconds, and reported from this process's last
    reading in between."""

    def __init__(
        self,
        probe: Probe,
        settled_max_age: float = SETTLED_MAX_AGE,
        max_age: float | None = None,
    ) -> None:
        self.probe = probe
        self.settled_max_age = settled_max_age
        self.max_age = max_age
        self._lock = threading.Lock()
        self._reading_lock = threading.Lock()
        self._reading: _Reading | None = None
        self._settled: dict[str, int] = {}
        self._settled_at = -math.inf

    def collect(self) -> Iterator[Metric]:
        reading = self._current()
        snapshot = reading.snapshot if reading is not None else None
        yield GaugeMetricFamily(
            "miles_database_up",
            "1 when the database answered the queries of the reading reported",
            value=int(bool(snapshot)),
        )
        yield GaugeMetricFamily(
            "miles_database_scrape_seconds",
            "Time the reading reported spent reading the database metrics",
            value=reading.seconds if reading is not None else 0.0,
        )
        yield GaugeMetricFamily(
            "miles_database_metrics_age_seconds",
            f"Age of the reading reported (each process reads the database at most every "
            f"{self._max_age():g} seconds, whoever scrapes)",
            value=time.monotonic() - reading.at if reading is not None else 0.0,
        )
        if snapshot is not None:
            yield from families(snapshot)

    def _max_age(self) -> float:
        return CACHE_SECONDS if self.max_age is None else self.max_age

    def _fresh(self, reading: _Reading | None) -> bool:
        return reading is not None and time.monotonic() - reading.at < self._max_age()

    def _current(self) -> _Reading | None:
        """The reading to report: the last one while fresh, else a new one (by one scrape at a time)."""
        known = self._reading
        if self._fresh(known):
            return known
        # another scrape is reading: answer the last reading at once rather than hold a thread waiting
        # (only the first scrapes of a process, with nothing to answer yet, wait for it)
        if known is not None and not self._reading_lock.acquire(blocking=False):
            return known
        if known is None and not self._reading_lock.acquire(timeout=WAIT_SECONDS):
            return self._reading
        try:
            if not self._fresh(self._reading):
                self._reading = self._read()
            return self._reading
        finally:
            self._reading_lock.release()

    def _read(self) -> _Reading:
        started = time.perf_counter()
        with self._lock:
            count_settled = time.monotonic() - self._settled_at >= self.settled_max_age
        snapshot: OperationsSnapshot | None
        try:
            snapshot = operations_snapshot(
                self.probe, SAGA_BUCKETS, HOLD_AGE_BUCKETS, count_settled=count_settled
            )
            snapshot = self._with_settled(snapshot, count_settled)
        except (SQLAlchemyError, OSError) as exc:  # the scrape still answers, with the database down
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            snapshot = None
        return _Reading(snapshot, time.perf_counter() - started, time.monotonic())

    def _with_settled(self, snapshot: OperationsSnapshot, counted: bool) -> OperationsSnapshot:
        counts = snapshot.counts.redemptions
        with self._lock:
            if counted:
                self._settled = {status: n for status, n in counts.items() if status != "PENDING"}
                self._settled_at = time.monotonic()
            every = {"PENDING": counts["PENDING"], **self._settled}
        return replace(snapshot, counts=replace(snapshot.counts, redemptions=every))


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _labelled(
    name: str, doc: str, label: str, values: dict[str, int] | dict[str, float]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


def _buckets(bounds: tuple[float, ...], counts: tuple[int, ...], count: int) -> list[tuple[str, float]]:
    return [
        *((repr(float(b)), float(n)) for b, n in zip(bounds, counts, strict=True)),
        ("+Inf", float(count)),
    ]


def families(s: OperationsSnapshot) -> Iterator[Metric]:
    c = s.counts
    yield _labelled(
        "miles_redemptions",
        "Redemptions by their status now (PENDING at every scrape; the settled statuses counted again at "
        "most once a minute)",
        "status",
        c.redemptions,
    )
    yield _labelled(
        "miles_redemption_sagas_unfinished",
        "Sagas not finished, by step: booking (PENDING), cancelling (a cancellation begun), releasing "
        "(a failed redemption's supplier bookings not cancelled yet)",
        "step",
        c.sagas_unfinished,
    )
    sagas = GaugeHistogramMetricFamily(
        "miles_saga_duration_seconds",
        f"Seconds from a redemption's creation to CONFIRMED or FAILED, for the sagas that ended in the last "
        f"{c.saga_window_seconds:g} seconds (a gauge histogram over that window)",
        labels=["status"],
    )
    for outcome, b in c.saga_durations.items():
        sagas.add_metric([outcome], _buckets(b.bounds, b.counts, b.count), b.total)
    yield sagas
    yield _gauge(
        "miles_saga_duration_window_seconds",
        "The window of miles_saga_duration_seconds",
        c.saga_window_seconds,
    )
    h = c.holds
    yield _gauge("miles_holds_open", "Holds open now (miles pending for a redemption)", h.open)
    yield _gauge(
        "miles_holds_overdue", "Open holds past their expiry, not closed by the sweeper yet", h.overdue
    )
    yield _gauge(
        "miles_hold_oldest_age_seconds", "Age of the oldest open hold (0 when none)", h.oldest_age_seconds
    )
    ages = GaugeHistogramMetricFamily("miles_hold_age_seconds", "Open holds by age (a gauge histogram)")
    ages.add_metric([], _buckets(h.ages.bounds, h.ages.counts, h.ages.count), h.ages.total)
    yield ages
    yield _gauge(
        "miles_outbox_pending", "Jobs written to the outbox and not yet sent to the queue", c.outbox.waiting
    )
    yield _gauge(
        "miles_outbox_oldest_age_seconds",
        "Age of the oldest job not yet sent (0 when none)",
        c.outbox.oldest_age_seconds,
    )
    yield _gauge(
        "miles_expiry_warnings_unsent", "Expiry warnings not yet sent to the member", c.warnings.waiting
    )
    yield _gauge(
        "miles_expiry_warnings_failing",
        "Unsent expiry warnings the notifier refused at least once",
        c.warnings_failing,
    )
    yield _gauge(
        "miles_expiry_warnings_oldest_unsent_age_seconds",
        "Age of the oldest unsent expiry warning (0 when none)",
        c.warnings.oldest_age_seconds,
    )
    if s.last_run is not None:
        yield from _nightly(s)


def _timestamp(at: datetime) -> float:
    return at.timestamp()


def _nightly(s: OperationsSnapshot) -> Iterator[Metric]:
    r = s.last_run
    assert r is not None
    info = GaugeMetricFamily(
        "miles_nightly_run_info",
        "The last nightly run (1): its programme, date and status",
        labels=["programme", "run_date", "status"],
    )
    info.add_metric([r.programme, r.run_date.isoformat(), r.status], 1)
    yield info
    yield _gauge(
        "miles_nightly_run_date_seconds",
        "The last nightly run's date, as the Unix time of its midnight UTC",
        _timestamp(datetime.combine(r.run_date, clock_time.min, tzinfo=UTC)),
    )
    yield _gauge(
        "miles_nightly_run_done",
        "1 when the last nightly run is done, 0 while it runs",
        int(r.status == "done"),
    )
    yield _gauge("miles_nightly_run_chunks", "Chunks of the last nightly run", r.chunks)
    yield _gauge("miles_nightly_run_chunks_done", "Chunks of the last nightly run done", r.chunks_done)
    yield _gauge(
        "miles_nightly_run_started_timestamp_seconds",
        "When the last nightly run started",
        _timestamp(r.started_at),
    )
    if r.finished_at is not None and r.elapsed_ms is not None:
        yield _gauge(
            "miles_nightly_run_finished_timestamp_seconds",
            "When the last nightly run's last chunk was done",
            _timestamp(r.finished_at),
        )
        yield _gauge(
            "miles_nightly_run_elapsed_seconds", "Wall time of the last nightly run", r.elapsed_ms / 1000
        )
    p = r.phases
    yield _labelled(
        "miles_nightly_run_phase_seconds",
        "Time per phase of the last nightly run: plan (once), and requalification, expiry and warnings summed "
        "over its chunks done (worker time, not wall time)",
        "phase",
        {
            "plan": p.plan_ms / 1000,
            "requalification": p.requalification_ms / 1000,
            "expiry": p.expiry_ms / 1000,
            "warnings": p.warnings_ms / 1000,
        },
    )
    m = r.members
    yield _labelled(
        "miles_nightly_run_members",
        "Members of the last nightly run's chunks done, by what happened to them",
        "outcome",
        {
            "processed": m.processed,
            "requalified": m.requalified,
            "kept": m.kept,
            "up": m.up,
            "down": m.down,
            "lifetime_grant": m.lifetime_grants,
            "expired": r.expiry.members,
        },
    )
    yield _gauge("miles_nightly_run_miles_expired", "Miles the last nightly run expired", r.expiry.miles)
    yield _gauge(
        "miles_nightly_run_warnings_queued", "Expiry warnings the last nightly run queued", r.warnings_queued
    )
