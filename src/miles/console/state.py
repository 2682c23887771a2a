"""What the console keeps per process: its signing secret (from the settings, else the database) and
the session lifetime."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from miles.bootstrap import Container
from miles.config import settings
from miles.services.agents import console_secret


@dataclass
class ConsoleState:
    configured_secret: str | None
    session_lifetime: timedelta
    _secret: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls) -> ConsoleState:
        s = settings()
        return cls(s.console_secret or None, timedelta(hours=s.console_session_hours))

    def secret(self, container: Container) -> str:
        """Blocking (may ask the database once): call it from a worker thread."""
        if self.configured_secret:
            return self.configured_secret
        with self._lock:
            if self._secret is None:
                self._secret = console_secret(container)
            return self._secret


def console_state(request: Request) -> ConsoleState:
    return request.app.state.console  # type: ignore[no-any-return]


def app_container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


T = TypeVar("T")


async def in_thread(request: Request, work: Callable[[Container], T]) -> T:
    """Run `work` (a call of one use case, given the runtime) on a worker thread: the use case opens and
    commits its own transaction, and rolls it back when it raises (so a refused form writes nothing)."""
    return await run_in_threadpool(work, app_container(request))
