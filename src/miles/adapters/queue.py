"""Dispatchers: where background jobs go. Celery on a broker, or a thread pool in this process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from miles.observability import request_id

log = logging.getLogger("miles.queue")


class CeleryDispatcher:
    """Sends jobs by name to Celery workers (JSON arguments only)."""

    def __init__(self, broker_url: str) -> None:
        from celery import Celery

        self.app = Celery("miles-dispatch", broker=broker_url)
        self.app.conf.update(
            task_serializer="json", accept_content=["json"], broker_connection_retry_on_startup=True
        )

    def send(self, task: str, payload: dict[str, Any], request_id: str | None = None) -> None:
        headers = {"request_id": request_id} if request_id else None
        self.app.send_task(task, kwargs=payload, queue=queue_for(task), headers=headers)


def queue_for(task: str) -> str:
    if task.startswith("miles.nightly."):
        return "nightly"
    return "default"


class InProcessDispatcher:
    """The embedded default: jobs run on a small thread pool of this process, after the commit."""

    def __init__(self, run: Callable[[str, dict[str, Any]], Any], workers: int = 2) -> None:
        self._run = run
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="miles-job")
        self._pending: set[Any] = set()
        self._lock = threading.Lock()

    def send(self, task: str, payload: dict[str, Any], request_id: str | None = None) -> None:
        future = self._pool.submit(self._safe_run, task, payload, request_id)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Any) -> None:
        with self._lock:
            self._pending.discard(future)

    def _safe_run(self, task: str, payload: dict[str, Any], rid: str | None = None) -> None:
        token = request_id.set(rid)
        try:
            self._run(task, payload)
        except Exception:  # the outbox and the periodic sweeps bring the job back
            log.exception("in-process job %s failed", task)
        finally:
            request_id.reset(token)

    def busy(self) -> bool:
        """Jobs sent and not finished yet."""
        with self._lock:
            return bool(self._pending)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until nothing is queued or running, the jobs those jobs sent included (tests, CLI).

        A job may send another one before it finishes (the last nightly chunk queues the warnings relay after
        its commit), so one pass over the jobs pending at the call is not enough: loop until none is left."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:  # a finished job may not have left the set yet; what it sent is in it already
                pending = [future for future in self._pending if not future.done()]
            if not pending:
                return
            wait(pending, timeout=max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline and not all(future.done() for future in pending):
                raise TimeoutError(f"jobs still queued or running after {timeout} s")
