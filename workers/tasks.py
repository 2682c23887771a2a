"""One Celery task per registered job: JSON arguments in, one service call, retries only on named
transient errors (the database or the broker briefly unreachable)."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from celery import Task
from kombu.exceptions import OperationalError as BrokerUnavailable
from sqlalchemy.exc import OperationalError as DatabaseUnavailable

from miles.bootstrap import Container, build_container
from miles.config import settings
from miles.observability import request_id
from miles.services.runtime import load_jobs
from workers.app import app

log = logging.getLogger("miles.workers")
TRANSIENT = (DatabaseUnavailable, BrokerUnavailable, ConnectionError)


@cache
def runtime() -> Container:
    s = settings()
    if not s.database_url:
        raise RuntimeError("MILES_DATABASE_URL is not set")
    return build_container(s.database_url, pool_size=s.worker_pool_size, broker_url=s.broker_url)


def _shim(name: str) -> Task:
    @app.task(  # type: ignore[untyped-decorator]
        name=name,
        bind=True,
        acks_late=True,
        autoretry_for=TRANSIENT,
        retry_backoff=True,
        retry_backoff_max=60,
        max_retries=10,
    )
    def run(self: Task, **payload: Any) -> Any:
        rid = getattr(self.request, "request_id", None) or (self.request.headers or {}).get("request_id")
        token = request_id.set(rid)  # the id of the HTTP request that caused this job, in every log line
        try:
            return load_jobs()[name](runtime(), **payload)
        finally:
            request_id.reset(token)

    return run


TASKS = {name: _shim(name) for name in load_jobs()}
