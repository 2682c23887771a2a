"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.api.deps import container
from miles.api.encoding import json_response
from miles.api.metrics import exposition
from miles.config import settings
from miles.domain.errors import Unauthorized
from miles.services.operations import is_ready, readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz", summary="The database (at the code's migration) and the broker are reachable")
async def readyz(request: Request) -> Response:
    checks = await run_in_threadpool(readiness, request.app.state.probe, container(request).broker_url)
    ready = is_ready(checks)
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
