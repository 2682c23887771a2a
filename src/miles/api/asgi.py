"""The ASGI entry point for uvicorn workers: configuration from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from miles.api import housekeeping
from miles.api.app import create_app
from miles.bootstrap import build_container
from miles.collector import tune_collector
from miles.config import settings


def create() -> FastAPI:
    s = settings()
    if not s.database_url:
        raise SystemExit("MILES_DATABASE_URL is not set (`miles serve` sets it, embedded or not)")
    container = build_container(
        s.database_url, pool_size=s.pool_size, broker_url=s.broker_url, max_overflow=s.pool_overflow
    )
    app = create_app(container, max_body_bytes=s.max_body_bytes, probe_database_url=s.probe_database_url)
    if s.housekeeping:
        housekeeping.install(app, container)  # no broker: this process runs the periodic jobs itself
    tune_collector(s.gc_young_threshold)
    return app
