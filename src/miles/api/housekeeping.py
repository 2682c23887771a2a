"""The embedded default's beat. With a broker, `miles beat` sends the periodic jobs (the outbox relay, the
redemption sweep) to the workers; without one (`miles serve` on the in-process dispatcher, `miles demo`)
nobody would, and a redemption whose supplier did not answer would stay pending for ever. Each server
process then sends them to its own dispatcher on the same schedule, from a daemon thread started and stopped
with the application."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from miles.adapters.queue import InProcessDispatcher
from miles.bootstrap import Container

log = logging.getLogger("miles.housekeeping")
# as workers/beat.py schedules them for `miles beat`
SCHEDULE = (("miles.outbox.relay", 5.0), ("miles.redemptions.sweep", 10.0))
TICK = 1.0


class Housekeeping:
    def __init__(self, container: Container) -> None:
        self.container = container
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="miles-housekeeping", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        due = {task: time.monotonic() + every for task, every in SCHEDULE}
        while not self._stop.wait(TICK):
            now = time.monotonic()
            for task, every in SCHEDULE:
                if now >= due[task]:
                    due[task] = now + every
                    try:
                        self.container.dispatcher.send(task, {})
                    except Exception:  # the next tick tries again
                        log.warning("periodic job %s could not be sent", task, exc_info=True)


def install(app: FastAPI, container: Container) -> None:
    """Run the periodic jobs in this process when it has no broker to send them to."""
    if not isinstance(container.dispatcher, InProcessDispatcher):
        return

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        keeper = Housekeeping(container)
        keeper.start()
        try:
            yield
        finally:
            keeper.stop()

    app.router.lifespan_context = lifespan
