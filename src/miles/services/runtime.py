"""What use cases and background jobs get from the composition root (miles.bootstrap)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from miles.adapters.db.unit_of_work import UnitOfWorkFactory
from miles.services.clock import Clock
from miles.services.programmes import ProgrammeCatalog

if TYPE_CHECKING:
    from miles.adapters.notifier import Notifier
    from miles.services.nightly.config import NightlyConfig


class Dispatcher(Protocol):
    """Sends a background job (by name, JSON arguments) to whoever runs jobs: Celery, or this process."""

    def send(self, task: str, payload: dict[str, Any], request_id: str | None = None) -> None: ...


class Runtime(Protocol):
    uow: UnitOfWorkFactory
    catalog: ProgrammeCatalog
    clock: Clock
    dispatcher: Dispatcher
    notifier: Notifier
    nightly: NightlyConfig


JobHandler = Callable[..., Any]
JOBS: dict[str, JobHandler] = {}


def job(name: str) -> Callable[[JobHandler], JobHandler]:
    """Register a background job: `handler(runtime, **payload)`; Celery tasks of the same name are shims over it."""

    def register(handler: JobHandler) -> JobHandler:
        if name in JOBS and JOBS[name] is not handler:
            raise ValueError(f"two jobs named {name}")
        JOBS[name] = handler
        return handler

    return register


def load_jobs() -> dict[str, JobHandler]:
    """Import every module that registers jobs, then the registry."""
    import miles.services.outbox  # noqa: F401

    for module in ("miles.services.nightly", "miles.services.redemptions"):
        try:
            __import__(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return JOBS
