"""The Celery app: Redis broker from MILES_BROKER_URL, JSON only, late acks, explicit names and queues."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_process_init

from miles.adapters.queue import queue_for
from miles.collector import tune_collector
from miles.config import settings
from miles.observability import configure_logging


def make_celery(broker_url: str | None = None) -> Celery:
    broker = broker_url or settings().broker_url or "redis://127.0.0.1:6379/0"
    app = Celery("miles", broker=broker, include=["workers.tasks"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,  # a job is acknowledged once done: a killed worker's job is delivered again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="default",
        task_routes=_route,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        # a job cut off by a lost broker connection is delivered again: every job is idempotent
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    return app


def _route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict[str, str]:
    return {"queue": queue_for(name)}


@setup_logging.connect  # type: ignore[untyped-decorator]
def _json_logs(**_: Any) -> None:
    """Workers and beat log JSON lines like the API (Celery's own logging setup is skipped)."""
    configure_logging(settings().log_level)


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _tune_collector(**_: Any) -> None:
    """Each pool process, once started: the garbage collector tuned as the API's (miles/collector.py)."""
    tune_collector(settings().gc_young_threshold)


app = make_celery()
