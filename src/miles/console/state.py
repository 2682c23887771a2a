"""What the console keeps per process: its signing secret (from the settings, else the database) and
the session lifetime."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from miles.bootstrap import Container
from miles.config import settings
from miles.services.agents import console_secret

if TYPE_CHECKING:  # the type of what `work` is given; the console uses it through services only
    from miles.adapters.db.unit_of_work import UnitOfWork


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
                with container.uow() as uow:
                    self._secret = console_secret(uow)
            return self._secret


def console_state(request: Request) -> ConsoleState:
    return request.app.state.console  # type: ignore[no-any-return]


def app_container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


T = TypeVar("T")


async def in_transaction(request: Request, work: Callable[[UnitOfWork, Container], T]) -> T:
    """Run `work` in one unit of work on a worker thread; committed when it returns, rolled back when
    it raises (so a refused form writes nothing)."""
    c = app_container(request)

    def run() -> T:
        with c.uow() as uow:
            return work(uow, c)

    return await run_in_threadpool(run)
