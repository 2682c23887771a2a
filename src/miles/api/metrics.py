"""Prometheus metrics of the API: counters and histograms kept by the API processes, and the families a
collector reads from the database at scrape time (miles.api.operations_metrics).

`miles serve --workers N` runs N processes; it sets PROMETHEUS_MULTIPROC_DIR to a fresh folder before
they start, so that each keeps its counters in files there and any of them answers /metrics with the sum
over all of them (prometheus_client's multiprocess mode). One process (the default, the tests) keeps
them in memory."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

ACCRUALS = Counter("miles_accruals_total", "Flight coupons by outcome and carrier", ["outcome", "carrier"])
REQUESTS = Histogram(
    "miles_http_request_seconds",
    "HTTP request latency",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class ProcessMetrics(Collector):
    """The API's own counters and histograms: summed over every API process in multiprocess mode, this
    process's otherwise."""

    def collect(self) -> Iterator[Metric]:
        folder = os.environ.get(MULTIPROC_ENV)
        if folder:
            yield from _merged(folder)
        else:
            yield from REGISTRY.collect()


def _merged(folder: str) -> Iterable[Metric]:
    """Every process's counters, summed. A file a process has just created is empty for an instant (its
    first request of a kind): it holds nothing yet and is skipped, where prometheus_client's own collector
    fails the whole scrape on it."""
    files = [str(f) for f in Path(folder).glob("*.db") if f.stat().st_size > 0]
    merged: Iterable[Metric] = MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
    return merged


def metrics_registry(database: Collector) -> CollectorRegistry:
    """What /metrics answers: the API's metrics and the database's."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessMetrics())
    registry.register(database)
    return registry


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The text format the scraper asked for (Prometheus' or OpenMetrics), and its content type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
