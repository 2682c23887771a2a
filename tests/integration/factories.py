"""Request bodies for tests: a valid coupon by default, any field overridden."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

_tickets = itertools.count(1_000_000)


def next_ticket() -> str:
    return f"00122{next(_tickets):08d}"


def coupon(member: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "member_number": member,
        "ticket_number": next_ticket(),
        "coupon_number": 1,
        "marketing_carrier": "YY",
        "operating_carrier": "YY",
        "flight_number": "123",
        "origin": "JFK",
        "destination": "LHR",
        "departure_date": "2026-10-01",
        "booking_class": "Y",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def enrol(client: TestClient, given: str = "Ada", family: str = "Lovelace") -> str:
    response = client.post(
        "/v1/members", json={"given_name": given, "family_name": family, "email": "a@b.example"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["member_number"])


COUNTED = (
    "members",
    "accounts",
    "accruals",
    "transfers",
    "entries",
    "lots",
    "status_credits",
    "qualifying_totals",
    "accrual_reversals",
    "tier_changes",
    "lot_draws",
    "idempotency_keys",
)


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t: int(c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in COUNTED}


def balances(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {r.code: r.balance for r in c.execute(text("SELECT code, balance FROM accounts"))}
