"""Helpers for the redemption tests: miles to spend, award items, the simulated suppliers' state."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.adapters.db.ledger import Posting
from miles.adapters.suppliers.simulated import write_settings
from miles.bootstrap import Container
from miles.domain.ledger import GOODWILL
from tests.integration.conftest import NOW

TRIP = (NOW + timedelta(days=60)).date()  # a departure two months after the tests' clock

Client = TestClient | httpx.Client


def grant_miles(
    container: Container, member_number: str, miles: int, expires: date | None = date(2029, 12, 31)
) -> None:
    """Goodwill miles in one earn lot (the way the ledger credits any miles)."""
    with container.uow() as uow:
        member = uow.members.lock(member_number)
        assert member is not None
        uow.ledger.post(
            Posting(uow.ledger.programme_account(GOODWILL), member.account_id, miles, "goodwill", NOW),
            lot_member_id=member.id,
            earned_date=NOW.date(),
            expires_date=expires,
        )


def flight(
    origin: str = "JFK", destination: str = "LHR", day: date = TRIP, cabin: str = "economy"
) -> dict[str, Any]:
    return {
        "kind": "flight",
        "origin": origin,
        "destination": destination,
        "departure_date": day.isoformat(),
        "cabin": cabin,
    }


def bag(origin: str = "JFK", destination: str = "LHR", day: date = TRIP, pieces: int = 1) -> dict[str, Any]:
    return {
        "kind": "baggage",
        "origin": origin,
        "destination": destination,
        "departure_date": day.isoformat(),
        "pieces": pieces,
    }


def hotel(city: str = "LON", category: int = 2, day: date = TRIP, nights: int = 3) -> dict[str, Any]:
    return {
        "kind": "hotel",
        "city": city,
        "hotel_category": category,
        "check_in_date": day.isoformat(),
        "nights": nights,
    }


def redeem(client: Client, member: str, *items: dict[str, Any], key: str | None = None) -> httpx.Response:
    return client.post(
        "/v1/redemptions",
        json={"member_number": member, "items": list(items)},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def wait_for(client: Client, redemption_id: int, *statuses: str, timeout: float = 30) -> dict[str, Any]:
    """The redemption once its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/v1/redemptions/{redemption_id}").json()
        if body["status"] in statuses or time.monotonic() > deadline:
            assert body["status"] in statuses, body
            return body
        time.sleep(0.05)


def set_supplier(container: Container, supplier: str, **settings: Any) -> None:
    write_settings(container.engine, supplier, **settings)


def bookings(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT supplier, key, status FROM sim_supplier_bookings ORDER BY supplier, key")
        )
        return [dict(r._mapping) for r in rows]


def account(engine: Engine, member: str) -> tuple[int, int]:
    """(balance, pending) of a member's award account."""
    with engine.connect() as c:
        row = c.execute(
            text("SELECT balance, pending FROM accounts WHERE code = :c"), {"c": f"member:{member}"}
        ).one()
        return int(row.balance), int(row.pending)


def hold_status(engine: Engine, redemption_id: int) -> str:
    with engine.connect() as c:
        return str(
            c.execute(
                text("SELECT status FROM holds WHERE redemption_id = :r"), {"r": redemption_id}
            ).scalar_one()
        )
