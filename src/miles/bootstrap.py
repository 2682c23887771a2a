"""The composition root: engine, unit of work, programme catalog, clock, key checks, job dispatch."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from miles.adapters.broker import broker_errors
from miles.adapters.db.engine import make_engine
from miles.adapters.db.unit_of_work import UnitOfWorkFactory
from miles.adapters.notifier import Notifier, notifier_from_url
from miles.adapters.queue import CeleryDispatcher, InProcessDispatcher
from miles.adapters.suppliers.pool import PoolLimits, bounded
from miles.adapters.suppliers.protocol import Suppliers
from miles.adapters.suppliers.simulated import simulated_suppliers
from miles.config import settings
from miles.services.apikeys import KeyVerifier
from miles.services.clock import Clock, FixedClock, SystemClock
from miles.services.nightly.config import NightlyConfig
from miles.services.programmes import ProgrammeCatalog
from miles.services.redemptions.saga_runtime import HoldTiming
from miles.services.runtime import Dispatcher, load_jobs

log = logging.getLogger("miles.bootstrap")


@dataclass
class Container:
    engine: Engine
    uow: UnitOfWorkFactory
    catalog: ProgrammeCatalog
    clock: Clock
    keys: KeyVerifier
    broker_url: str | None = None
    server_prepares: bool = True  # False behind PgBouncer (MILES_DATABASE_POOLER=pgbouncer)
    notifier: Notifier = field(default_factory=lambda: notifier_from_url(settings().smtp_url))
    nightly: NightlyConfig = field(default_factory=lambda: nightly_config())
    hold_timing: HoldTiming = field(default_factory=lambda: hold_timing())
    suppliers: Suppliers = field(init=False)
    dispatcher: Dispatcher = field(init=False)

    def run_job(self, task: str, payload: dict[str, Any]) -> Any:
        return load_jobs()[task](self, **payload)

    def relay_outbox(self) -> None:
        from miles.services.outbox import relay

        try:
            relay(self)
        except broker_errors() as exc:
            # the broker is down: the rows stay in the outbox and the periodic relay sends them. One line,
            # not a traceback: during a broker outage every write request ends up here
            log.warning(
                "outbox relay after commit failed (%s: %s); the periodic relay will send the jobs",
                type(exc).__name__,
                str(exc)[:200],
            )
        except Exception:
            # anything else is a bug: logged with its traceback; the request has committed, so it still
            # answers, and the periodic relay sends the jobs
            log.error(
                "outbox relay after commit failed; the periodic relay will send the jobs", exc_info=True
            )


def supplier_limits() -> PoolLimits:
    s = settings()
    return PoolLimits(s.supplier_calls, s.supplier_queue, s.supplier_timeout_seconds)


def hold_timing() -> HoldTiming:
    s = settings()
    return HoldTiming(s.redemption_hold_seconds, s.redemption_retry_seconds)


def nightly_config() -> NightlyConfig:
    s = settings()
    return NightlyConfig(s.nightly_chunk_size, s.nightly_stale_seconds, s.test_chunk_delay_seconds)


def configured_clock() -> Clock:
    """The system clock, unless MILES_CLOCK_AT pins it (tests, demos)."""
    at = settings().clock_at
    return SystemClock() if at is None else FixedClock(at)


def build_container(
    database_url: str,
    clock: Clock | None = None,
    pool_size: int = 10,
    broker_url: str | None = None,
    max_overflow: int = 0,
) -> Container:
    """The runtime of one process. Its engine holds at most `pool_size + max_overflow` connections."""
    server_prepares = settings().database_pooler != "pgbouncer"
    engine = make_engine(database_url, pool_size, max_overflow, server_prepares)
    clock = clock or configured_clock()
    uow = UnitOfWorkFactory(engine, clock.now)
    container = Container(
        engine=engine,
        uow=uow,
        catalog=ProgrammeCatalog(),
        clock=clock,
        keys=KeyVerifier(uow, clock=clock),  # expiry judged on the process's clock (MILES_CLOCK_AT)
        broker_url=broker_url,
        server_prepares=server_prepares,
    )
    container.suppliers = bounded(simulated_suppliers(engine), supplier_limits())  # a pool per supplier
    if broker_url:
        container.dispatcher = CeleryDispatcher(broker_url)
    else:
        container.dispatcher = InProcessDispatcher(container.run_job)
    uow.after_commit = container.relay_outbox
    return container
