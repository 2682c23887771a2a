"""What the routes need: the unit-of-work factory, the programme catalog, the clock, key checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine

from miles.adapters.db.engine import make_engine
from miles.adapters.db.unit_of_work import UnitOfWorkFactory
from miles.services.apikeys import KeyVerifier, Principal
from miles.services.clock import Clock, SystemClock
from miles.services.programmes import ProgrammeCatalog


@dataclass
class Container:
    engine: Engine
    uow: UnitOfWorkFactory
    catalog: ProgrammeCatalog
    clock: Clock
    keys: KeyVerifier
    broker_url: str | None = None


def build_container(database_url: str, clock: Clock | None = None, pool_size: int = 10) -> Container:
    engine = make_engine(database_url, pool_size=pool_size)
    uow = UnitOfWorkFactory(engine)
    return Container(
        engine=engine,
        uow=uow,
        catalog=ProgrammeCatalog(),
        clock=clock or SystemClock(),
        keys=KeyVerifier(uow),
    )


def container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


def require(scope: str) -> Callable[[Request], Principal]:
    """A dependency that admits a request whose bearer key carries `scope`."""

    def check(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        principal = container(request).keys.verify(token)
        principal.require(scope)
        return principal

    check.__name__ = f"require_{scope.replace(':', '_')}"
    return check
