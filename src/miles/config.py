"""Configuration from the environment (MILES_*). With nothing set, miles runs on the embedded default."""

from __future__ import annotations

import os
from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MILES_", extra="ignore")

    database_url: str | None = None
    broker_url: str | None = None
    data_dir: Path = Path.home() / ".miles"
    # the connection budget (deploy/README.md): each API process keeps `pool_size` connections and opens
    # up to `pool_overflow` more at peaks; each Celery pool process keeps `worker_pool_size`
    pool_size: int = Field(default=10, gt=0)
    pool_overflow: int = Field(default=0, ge=0)
    worker_pool_size: int = Field(default=2, gt=0)
    # "pgbouncer": connections go through PgBouncer in transaction pooling, so no server-side prepared
    # statements (a transaction may run on another server connection than the one that prepared them)
    database_pooler: Literal["none", "pgbouncer"] = "none"
    # health checks and metrics connect here when set (behind PgBouncer: a database entry with a small pool
    # of its own, so that readiness never waits behind the requests' server connections); else database_url
    probe_database_url: str | None = None
    # `miles db upgrade` connects here when set (straight to PostgreSQL: it holds a session lock and builds
    # indexes concurrently, which a transaction pooler cannot carry); else to database_url
    migration_database_url: str | None = None
    # an API or Celery worker process collects its young objects every this many allocations once it is
    # ready, what it loaded frozen out of the collector's passes (miles/collector.py); 0: Python's own
    gc_young_threshold: int = Field(default=100_000, ge=0)
    max_batch_items: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    log_level: str = "info"
    clock_at: AwareDatetime | None = (
        None  # pins the clock to this instant (tests, demos); never in production
    )
    smtp_url: str | None = None  # expiry warnings by e-mail; without it they are logged
    nightly_at: str = "02:00"  # the nightly run's start, in the programme's time zone (beat)
    nightly_every_seconds: float | None = None  # tests: start the nightly run this often instead
    nightly_chunk_size: int = Field(default=50_000, gt=0)  # member ids per chunk
    nightly_stale_seconds: float = 900.0  # a pending chunk nobody holds for this long is queued again
    nightly_reconcile_seconds: float = 60.0  # how often beat runs the chunk reconciler
    warnings_relay_seconds: float = 60.0  # how often beat relays expiry warnings to the notifier
    test_chunk_delay_seconds: float = 0.0  # test hook: a nightly chunk waits this long before its commit
    console_secret: str | None = None  # signs console cookies; else one kept in the database
    console_session_hours: float = 8.0
    # without a broker, `miles serve` runs the periodic jobs beat would send (outbox relay, redemption sweep);
    # off only where several test runs share one database with clocks of their own
    housekeeping: bool = True
    redemption_hold_seconds: float = Field(
        default=600.0, gt=0
    )  # a pending hold waits this long for suppliers
    redemption_retry_seconds: float = Field(
        default=30.0, gt=0
    )  # a quiet saga step is pushed again after this
    # each supplier's own pool, per process: calls at once, callers allowed to wait for one, and how long a
    # caller waits for an answer (adapters/suppliers/pool.py); past them a caller gets supplier_unavailable
    supplier_calls: int = Field(default=6, gt=0)
    supplier_queue: int = Field(default=4, ge=0)
    supplier_timeout_seconds: float = Field(default=10.0, gt=0)
    metrics_token: str | None = None  # when set, /metrics asks for it as a Bearer token
    # `miles serve` believes X-Forwarded-For/-Proto only from these peers (comma-separated IPs or CIDRs, e.g.
    # "10.0.0.5,10.1.0.0/16"); empty, the default: from nobody, every request's address is its TCP peer
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _ip_networks(cls, value: str) -> str:
        """Each entry an IP address or network; written back comma-separated without spaces."""
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            try:
                ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not an IP address or network (CIDR)") from exc
        return ",".join(entries)


@lru_cache
def settings() -> Settings:
    return Settings()


def database_url_or_none() -> str | None:
    return os.environ.get("MILES_DATABASE_URL") or None
