"""Prometheus metrics of the API process."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ACCRUALS = Counter("miles_accruals_total", "Flight coupons by outcome and carrier", ["outcome", "carrier"])
REQUESTS = Histogram(
    "miles_http_request_seconds",
    "HTTP request latency",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
