"""Simulated suppliers, shipped for tests, benchmarks and `miles demo`.

Each keeps its bookings in its own table (`sim_supplier_bookings`, keyed by supplier and idempotency key)
and behaves as its row of `sim_supplier_settings` says, read on every call so that a test or an operator
(`miles suppliers set ...`) changes it at run time for every process:
- latency_ms: how long each call takes;
- failure_rate (0..1): share of new bookings refused, with failure_reason;
- unknown_outcome_rate (0..1): share of new bookings made but answered with a timeout (outcome unknown);
- saver_seats: whether the award-seat inventory sells saver fares (else standard).
With no row a supplier answers at once, always books and has saver seats.
"""

from __future__ import annotations

import dataclasses
import json
import random
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, text

from miles.adapters.suppliers.protocol import (
    BOOKED,
    Booking,
    SupplierRefused,
    Suppliers,
    SupplierTimeout,
)
from miles.domain.awards import BaggageAward, Fare, FlightAward, HotelAward

SUPPLIERS = ("flights", "hotels", "baggage")
T = TypeVar("T", FlightAward, HotelAward, BaggageAward)


@dataclass(frozen=True)
class SimulatorSettings:
    latency_ms: int = 0
    failure_rate: float = 0.0
    unknown_outcome_rate: float = 0.0
    saver_seats: bool = True
    failure_reason: str = "no availability"


def read_settings(connection: Connection, supplier: str) -> SimulatorSettings:
    row = connection.execute(
        text(
            "SELECT latency_ms, failure_rate, unknown_outcome_rate, saver_seats, failure_reason "
            "FROM sim_supplier_settings WHERE supplier = :s"
        ),
        {"s": supplier},
    ).first()
    return SimulatorSettings() if row is None else SimulatorSettings(*row)


def write_settings(engine: Engine, supplier: str, **changes: Any) -> SimulatorSettings:
    """Change some of a supplier's settings (the others keep their values)."""
    if supplier not in SUPPLIERS:
        raise ValueError(f"no simulated supplier {supplier!r}; they are {', '.join(SUPPLIERS)}")
    with engine.begin() as c:
        current = read_settings(c, supplier)
        new = dataclasses.replace(current, **changes)
        c.execute(
            text(
                """
                INSERT INTO sim_supplier_settings
                    (supplier, latency_ms, failure_rate, unknown_outcome_rate, saver_seats, failure_reason)
                VALUES (:supplier, :latency_ms, :failure_rate, :unknown_outcome_rate, :saver_seats,
                        :failure_reason)
                ON CONFLICT (supplier) DO UPDATE SET latency_ms = EXCLUDED.latency_ms,
                    failure_rate = EXCLUDED.failure_rate, unknown_outcome_rate = EXCLUDED.unknown_outcome_rate,
                    saver_seats = EXCLUDED.saver_seats, failure_reason = EXCLUDED.failure_reason
                """
            ),
            {"supplier": supplier, **dataclasses.asdict(new)},
        )
    return new


def _reference() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))


def _booking(row: Any) -> Booking:
    return Booking(key=row.key, reference=row.reference, status=row.status)


_LOOKUP = text(
    """
    SELECT s.latency_ms, s.failure_rate, s.unknown_outcome_rate, s.saver_seats, s.failure_reason,
           b.key, b.reference, b.status
    FROM (SELECT 1) AS one
    LEFT JOIN sim_supplier_settings s ON s.supplier = :s
    LEFT JOIN sim_supplier_bookings b ON b.supplier = :s AND b.key = :k
    """
)


def _settings(row: Any) -> SimulatorSettings:
    if row.latency_ms is None:
        return SimulatorSettings()
    return SimulatorSettings(
        row.latency_ms, row.failure_rate, row.unknown_outcome_rate, row.saver_seats, row.failure_reason
    )


def _wait(settings: SimulatorSettings) -> None:
    if settings.latency_ms:
        time.sleep(settings.latency_ms / 1000)


class SimulatedSupplier(Generic[T]):
    """One round trip to its tables per call (the settings and the booking read together), then the
    configured latency."""

    def __init__(self, engine: Engine, name: str, chance: Callable[[], float] = random.random) -> None:
        if name not in SUPPLIERS:
            raise ValueError(name)
        self.engine = engine
        self.name = name
        self._chance = chance

    def _lookup(self, c: Connection, key: str) -> tuple[SimulatorSettings, Booking | None]:
        row = c.execute(_LOOKUP, {"s": self.name, "k": key}).one()
        return _settings(row), (None if row.key is None else _booking(row))

    def quote(self, item: T) -> Fare | None:
        with self.engine.connect() as c:
            settings, _ = self._lookup(c, "")
        _wait(settings)
        if isinstance(item, FlightAward):
            return Fare.SAVER if settings.saver_seats else Fare.STANDARD
        return None

    def book(self, key: str, item: T, fare: Fare | None) -> Booking:
        with self.engine.begin() as c:
            settings, booking = self._lookup(c, key)
            if booking is None:
                if self._chance() < settings.failure_rate:
                    _wait(settings)
                    raise SupplierRefused(settings.failure_reason)
                booking = self._insert(c, key, item, fare)
        _wait(settings)
        if self._chance() < settings.unknown_outcome_rate:
            raise SupplierTimeout(f"{self.name}: no answer in time for {key}")
        return booking

    def _insert(self, c: Connection, key: str, item: T, fare: Fare | None) -> Booking:
        detail = {"kind": item.kind, **dataclasses.asdict(item)}
        row = c.execute(
            text(
                "INSERT INTO sim_supplier_bookings (supplier, key, reference, status, fare, item) "
                "VALUES (:s, :k, :r, :st, :f, CAST(:i AS jsonb)) ON CONFLICT DO NOTHING "
                "RETURNING key, reference, status"
            ),
            {
                "s": self.name,
                "k": key,
                "r": _reference(),
                "st": BOOKED,
                "f": fare.value if fare else None,
                "i": json.dumps(detail, default=str),
            },
        ).first()
        if row is None:  # a concurrent call with the same key booked first
            found = self._lookup(c, key)[1]
            assert found is not None
            return found
        return _booking(row)

    def find(self, key: str) -> Booking | None:
        with self.engine.connect() as c:
            settings, booking = self._lookup(c, key)
        _wait(settings)
        return booking

    def cancel(self, key: str) -> Booking | None:
        with self.engine.begin() as c:
            c.execute(
                text(
                    "UPDATE sim_supplier_bookings SET status = 'CANCELLED', cancelled_at = now() "
                    "WHERE supplier = :s AND key = :k AND status = 'BOOKED'"
                ),
                {"s": self.name, "k": key},
            )
            settings, booking = self._lookup(c, key)
        _wait(settings)
        return booking


def simulated_suppliers(engine: Engine) -> Suppliers:
    return Suppliers(
        flights=SimulatedSupplier[FlightAward](engine, "flights"),
        hotels=SimulatedSupplier[HotelAward](engine, "hotels"),
        baggage=SimulatedSupplier[BaggageAward](engine, "baggage"),
    )
