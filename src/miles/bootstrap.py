"""The composition root: engine, unit of work, programme catalog, clock, key checks, job dispatch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from miles.adapters.db.engine import make_engine
from miles.adapters.db.unit_of_work import UnitOfWorkFactory
from miles.adapters.queue import CeleryDispatcher, InProcessDispatcher
from miles.services.apikeys import KeyVerifier
from miles.services.clock import Clock, SystemClock
from miles.services.programmes import ProgrammeCatalog
from miles.services.runtime import Dispatcher, load_jobs


@dataclass
class Container:
    engine: Engine
    uow: UnitOfWorkFactory
    catalog: ProgrammeCatalog
    clock: Clock
    keys: KeyVerifier
    broker_url: str | None = None
    dispatcher: Dispatcher = field(init=False)

    def run_job(self, task: str, payload: dict[str, Any]) -> Any:
        return load_jobs()[task](self, **payload)

    def relay_outbox(self) -> None:
        from miles.services.outbox import relay

        relay(self)


def build_container(
    database_url: str, clock: Clock | None = None, pool_size: int = 10, broker_url: str | None = None
) -> Container:
    engine = make_engine(database_url, pool_size=pool_size)
    uow = UnitOfWorkFactory(engine)
    container = Container(
        engine=engine,
        uow=uow,
        catalog=ProgrammeCatalog(),
        clock=clock or SystemClock(),
        keys=KeyVerifier(uow),
        broker_url=broker_url,
    )
    if broker_url:
        container.dispatcher = CeleryDispatcher(broker_url)
    else:
        container.dispatcher = InProcessDispatcher(container.run_job)
    uow.after_commit = container.relay_outbox
    return container
