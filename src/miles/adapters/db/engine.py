"""Engines from plain postgresql:// URLs; the psycopg 3 driver is the project's business."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

PROBE_APPLICATION_NAME = "miles-probe"


def sqlalchemy_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def connect_args(server_prepares: bool) -> dict[str, Any]:
    """The driver's settings. Behind PgBouncer in transaction pooling, consecutive transactions of one
    client connection run on different server connections, which do not hold the statements psycopg
    prepared on another one: `server_prepares=False` keeps every statement unprepared."""
    return {} if server_prepares else {"prepare_threshold": None}


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 0, server_prepares: bool = True) -> Engine:
    """A pooled engine: at most `pool_size + max_overflow` connections (the connection budget of
    deploy/README.md counts them). No pre-ping: it costs a round trip on every checkout (measured: a
    third of a single accrual's wall time). A connection found dead when it is used raises a disconnect
    error, which invalidates the whole pool, so one request per process answers 503 (and is retried by
    its client, every write being idempotent) and the next ones get fresh connections."""
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        connect_args=connect_args(server_prepares),
    )


def probe_engine(
    url: str,
    connect_timeout: int = 3,
    pool_size: int = 1,
    max_overflow: int = 1,
    pool_timeout: float = 3,
    server_prepares: bool = True,
) -> Engine:
    """An engine for health checks and metrics, apart from the requests' pool: at most `pool_size +
    max_overflow` connections (named `miles-probe` in pg_stat_activity), however many scrapers ask at
    once; one waits at most `pool_timeout` seconds for a connection and gives up connecting after
    `connect_timeout` seconds instead of waiting on an unreachable host. Each checkout is pinged (a scrape
    every few seconds can afford it), so a connection the database dropped is replaced, not reported as
    the database being down."""
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=1800,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": connect_timeout,
            "application_name": PROBE_APPLICATION_NAME,
            **connect_args(server_prepares),
        },
    )
