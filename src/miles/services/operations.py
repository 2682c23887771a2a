"""What operators watch: the state of sagas, holds, the outbox, warnings and the last nightly run (read from
the database, so the same from every process), and the health of the database and the broker. The
metrics endpoint and `miles status` read them through here."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from miles.adapters.broker import BrokerState, broker_errors, broker_state, responding_workers
from miles.adapters.db.engine import probe_engine
from miles.adapters.db.migrate import head_revision, position
from miles.adapters.db.nightly_runs import NightlyRunRepository
from miles.adapters.db.operations import OperationsCounts, OperationsRepository, SchemaState
from miles.adapters.db.unit_of_work import UnitOfWork, UnitOfWorkFactory
from miles.services.clock import Clock
from miles.services.nightly.report import RunReport, report_of

__all__ = [
    "BrokerState",
    "DatabaseHealth",
    "DatabaseStatus",
    "OperationsSnapshot",
    "Probe",
    "broker_health",
    "database_status",
    "operations_snapshot",
    "probe",
    "is_ready",
    "readiness",
    "workers_responding",
]

SAGA_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class OperationsSnapshot:
    at: datetime  # the engine's clock when it was read
    counts: OperationsCounts
    last_run: RunReport | None


@dataclass(frozen=True)
class DatabaseHealth:
    schema: SchemaState
    head: str | None  # the newest migration this code ships

    @property
    def up_to_date(self) -> bool:
        return self.schema.revision is not None and self.schema.revision == self.head


@dataclass(frozen=True)
class DatabaseStatus:
    health: DatabaseHealth
    answered_ms: float  # how long the database took to answer the first question
    snapshot: OperationsSnapshot


@dataclass
class Probe:
    """The runtime of health checks and metrics: units of work on a small pool of their own (two
    connections at most, see probe_engine), so scrapers never take the requests' connections, however
    many they are; and the clock."""

    uow: UnitOfWorkFactory
    clock: Clock

    def close(self) -> None:
        self.uow.engine.dispose()


def probe(database_url: str, clock: Clock, server_prepares: bool = True) -> Probe:
    return Probe(UnitOfWorkFactory(probe_engine(database_url, server_prepares=server_prepares)), clock)


def operations_snapshot(
    runtime: Probe,
    saga_bounds: Sequence[float],
    hold_bounds: Sequence[float],
    saga_window: timedelta = SAGA_WINDOW,
    count_settled: bool = True,
) -> OperationsSnapshot:
    """What operators watch, read in one short transaction: the metrics endpoint's reading.

    `count_settled=False` leaves out the count of settled redemptions (CONFIRMED, FAILED, CANCELLED),
    the one statement that grows with the table: `counts.redemptions` then holds PENDING only."""
    with runtime.uow() as uow:
        return _snapshot(uow, runtime.clock, saga_bounds, hold_bounds, saga_window, count_settled)


def database_status(
    runtime: Probe, saga_bounds: Sequence[float], hold_bounds: Sequence[float]
) -> DatabaseStatus:
    """The database's schema and what operators watch, read in one transaction (`miles status`)."""
    started = time.perf_counter()
    with runtime.uow() as uow:
        health = _health(uow)
        answered_ms = (time.perf_counter() - started) * 1000
        snapshot = _snapshot(uow, runtime.clock, saga_bounds, hold_bounds, SAGA_WINDOW, True)
    return DatabaseStatus(health, answered_ms, snapshot)


def _snapshot(
    uow: UnitOfWork,
    clock: Clock,
    saga_bounds: Sequence[float],
    hold_bounds: Sequence[float],
    saga_window: timedelta,
    count_settled: bool,
) -> OperationsSnapshot:
    repo = OperationsRepository(uow.connection)
    repo.limit_statements()
    now = clock.now()
    counts = repo.counts(now, saga_window, saga_bounds, hold_bounds, count_settled)
    last_run = None
    if counts.last_run_id is not None:
        run = NightlyRunRepository(uow.connection).get(counts.last_run_id)
        last_run = None if run is None else report_of(uow, run)
    return OperationsSnapshot(now, counts, last_run)


def _health(uow: UnitOfWork) -> DatabaseHealth:
    repo = OperationsRepository(uow.connection)
    repo.limit_statements()
    return DatabaseHealth(repo.schema(), head_revision())


def broker_health(broker_url: str, timeout: float = 2.0) -> BrokerState:
    return broker_state(broker_url, timeout)


def workers_responding(broker_url: str, timeout: float = 1.0) -> list[str]:
    return responding_workers(broker_url, timeout)


def readiness(runtime: Probe, broker_url: str | None) -> dict[str, str]:
    """What /readyz reports, on the probe's own connections (a saturated request pool does not take the
    pods out of service): "ok", or why not, for the database, its schema and the broker (in-process
    without one). The schema is ready at this code's migration head, and ahead of it (a newer release
    migrated first: migrations stay backward compatible for one release); behind it, the code must not
    serve it."""
    checks: dict[str, str] = {}
    try:
        with runtime.uow() as uow:
            repo = OperationsRepository(uow.connection)
            repo.limit_statements()
            revision = repo.revision()
        checks["database"] = "ok"
        checks["schema"] = _schema_check(revision)
    except (SQLAlchemyError, OSError) as exc:  # readiness reports the database's failures as not ready
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["schema"] = "unknown"
    if broker_url:
        try:
            import redis

            redis.Redis.from_url(broker_url, socket_connect_timeout=2, socket_timeout=2).ping()
            checks["broker"] = "ok"
        except broker_errors() as exc:  # readiness reports the broker's failures as not ready
            checks["broker"] = f"unreachable: {type(exc).__name__}"
    else:
        checks["broker"] = "in-process (no MILES_BROKER_URL)"
    return checks


def is_ready(checks: dict[str, str]) -> bool:
    return all(v == "ok" or v.startswith(("in-process", "ahead")) for v in checks.values())


def _schema_check(revision: str | None) -> str:
    where = position(revision)
    if where == "current":
        return "ok"
    if where == "ahead":
        return f"ahead: at {revision}, a newer release's migration"
    return f"behind: at {revision or 'no migration'}, the code needs {head_revision()}"
