"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from miles.adapters.broker import broker_errors
from miles.api.deps import container
from miles.api.encoding import json_response
from miles.api.metrics import exposition
from miles.bootstrap import Container
from miles.config import settings
from miles.domain.errors import Unauthorized

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Response:
    return json_response({"status": "ok"})


def _checks(c: Container) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with c.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError) as exc:  # readiness reports the database's failures as not ready
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if c.broker_url:
        try:
            import redis

            redis.Redis.from_url(c.broker_url, socket_connect_timeout=2, socket_timeout=2).ping()
            checks["broker"] = "ok"
        except broker_errors() as exc:  # readiness reports the broker's failures as not ready
            checks["broker"] = f"unreachable: {type(exc).__name__}"
    else:
        checks["broker"] = "in-process (no MILES_BROKER_URL)"
    return checks


@router.get("/readyz", summary="The database and the broker are reachable")
async def readyz(request: Request) -> Response:
    checks = await run_in_threadpool(_checks, container(request))
    ready = all(v == "ok" or v.startswith("in-process") for v in checks.values())
    return json_response(
        {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
    )


def _check_metrics_token(request: Request) -> None:
    """With MILES_METRICS_TOKEN set, /metrics answers only a scraper that sends it as a Bearer token."""
    expected = settings().metrics_token
    if not expected:
        return
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized(
            "/metrics needs the metrics token (MILES_METRICS_TOKEN) as a Bearer token",
            code="metrics_token_required",
        )


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    """The API processes' counters and histograms, and the database's state read at most a few seconds
    ago (a database that does not answer is `miles_database_up 0`, never a failed scrape). With
    MILES_METRICS_TOKEN set, the scraper sends it as a Bearer token."""
    _check_metrics_token(request)
    body, content_type = await run_in_threadpool(
        exposition, request.app.state.metrics, request.headers.get("accept")
    )
    return Response(body, media_type=content_type)
