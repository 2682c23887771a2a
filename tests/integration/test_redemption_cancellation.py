"""Cancelling a confirmed award: the suppliers cancel, the same lots come back with their original expiry
less the 3,000-mile fee (none for PLATINUM), and never less than 24 hours before departure or check-in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.services.clock import FixedClock
from tests.integration.factories import enrol
from tests.integration.redemption_helpers import (
    TRIP,
    account,
    bookings,
    flight,
    grant_miles,
    hotel,
    redeem,
    set_supplier,
    wait_for,
)


def confirmed(client: TestClient, container: Container, member: str, *items: dict[str, Any]) -> int:
    response = redeem(client, member, *items)
    assert response.status_code == 202, response.text
    container.dispatcher.drain()  # type: ignore[attr-defined]
    redemption_id = int(response.json()["redemption_id"])
    wait_for(client, redemption_id, "CONFIRMED")
    return redemption_id


def lots(engine: Engine) -> list[tuple[date | None, int, int]]:
    """(expires, amount, remaining) of every lot, soonest-expiring first."""
    with engine.connect() as c:
        rows = c.execute(text("SELECT expires_date, amount, remaining FROM lots ORDER BY expires_date, id"))
        return [(r.expires_date, r.amount, r.remaining) for r in rows]


def test_cancelling_gives_back_the_same_lots_less_the_fee(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 10_000, expires=date(2027, 6, 30))
    grant_miles(container, member, 30_000, expires=date(2029, 12, 31))
    redemption_id = confirmed(client, container, member, flight())  # 25,000, soonest-expiring first
    assert lots(engine) == [(date(2027, 6, 30), 10_000, 0), (date(2029, 12, 31), 30_000, 15_000)]

    response = client.post(f"/v1/redemptions/{redemption_id}/cancel")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "CANCELLED", "refunded_miles": 22_000, "fee_miles": 3_000}
    # the same lots, with their own expiry; the fee came out of the soonest-expiring of them
    assert lots(engine) == [(date(2027, 6, 30), 10_000, 7_000), (date(2029, 12, 31), 30_000, 30_000)]
    assert account(engine, member) == (37_000, 0)
    assert [b["status"] for b in bookings(engine)] == ["CANCELLED"]
    body = client.get(f"/v1/redemptions/{redemption_id}").json()
    assert body["status"] == "CANCELLED"
    assert (body["refunded_miles"], body["fee_miles"]) == (22_000, 3_000)
    assert [h["status"] for h in body["history"]] == ["PENDING", "CONFIRMED", "CANCELLED"]
    statement = client.get(f"/v1/members/{member}/statement").json()["transfers"]
    assert [(t["code"], t["miles"]) for t in statement[:3]] == [
        ("cancellation_fee", -3_000),
        ("redemption_refund", 25_000),
        ("redemption", -25_000),
    ]


def test_a_platinum_member_cancels_without_a_fee(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 60_000)
    redemption_id = confirmed(client, container, member, flight(), hotel())
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE members SET tier = 'PLATINUM', tier_valid_until = '2028-02-29' WHERE member_number = :n"
            ),
            {"n": member},
        )
    response = client.post(f"/v1/redemptions/{redemption_id}/cancel")
    assert response.json() == {"status": "CANCELLED", "refunded_miles": 49_000, "fee_miles": 0}
    assert account(engine, member) == (60_000, 0)
    assert [b["status"] for b in bookings(engine)] == ["CANCELLED", "CANCELLED"]


@pytest.mark.parametrize("item", [flight(), hotel()], ids=["departure", "check-in"])
def test_cancelling_is_refused_less_than_24_hours_before_and_allowed_at_24(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine, item: dict[str, Any]
) -> None:
    member = enrol(client)
    grant_miles(container, member, 30_000)
    redemption_id = confirmed(client, container, member, item)
    starts = datetime(TRIP.year, TRIP.month, TRIP.day, tzinfo=UTC)

    clock.at = starts - timedelta(hours=23, minutes=59)
    late = client.post(f"/v1/redemptions/{redemption_id}/cancel")
    assert late.status_code == 422
    assert late.json()["error"]["code"] == "cancellation_too_late"
    assert "24 hours" in late.json()["error"]["message"]
    assert client.get(f"/v1/redemptions/{redemption_id}").json()["status"] == "CONFIRMED"
    assert [b["status"] for b in bookings(engine)] == ["BOOKED"]

    clock.at = starts - timedelta(hours=24)
    assert client.post(f"/v1/redemptions/{redemption_id}/cancel").json()["status"] == "CANCELLED"


def test_cancelling_twice_answers_the_same_and_refunds_once(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 30_000)
    redemption_id = confirmed(client, container, member, flight())
    first = client.post(f"/v1/redemptions/{redemption_id}/cancel", headers={"Idempotency-Key": "c-1"})
    again = client.post(f"/v1/redemptions/{redemption_id}/cancel")
    replay = client.post(f"/v1/redemptions/{redemption_id}/cancel", headers={"Idempotency-Key": "c-1"})
    assert first.json() == again.json() == replay.json()
    assert account(engine, member) == (27_000, 0)
    with engine.connect() as c:
        assert (
            c.execute(text("SELECT count(*) FROM transfers WHERE code = 'redemption_refund'")).scalar_one()
            == 1
        )


def test_only_a_confirmed_award_can_be_cancelled(client: TestClient, container: Container) -> None:
    member = enrol(client)
    grant_miles(container, member, 30_000)
    set_supplier(container, "flights", failure_rate=1.0)
    response = redeem(client, member, flight())
    container.dispatcher.drain()  # type: ignore[attr-defined]
    redemption_id = response.json()["redemption_id"]
    wait_for(client, redemption_id, "FAILED")
    refused = client.post(f"/v1/redemptions/{redemption_id}/cancel")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "not_cancellable"
    assert client.post("/v1/redemptions/999999/cancel").status_code == 404
    assert client.get("/v1/redemptions/999999").json()["error"]["code"] == "redemption_not_found"


def test_an_idempotency_key_used_to_cancel_another_award_is_409(
    client: TestClient, container: Container
) -> None:
    member = enrol(client)
    grant_miles(container, member, 60_000)
    first = confirmed(client, container, member, flight())
    second = confirmed(client, container, member, flight())
    assert client.post(f"/v1/redemptions/{first}/cancel", headers={"Idempotency-Key": "k"}).status_code == 200
    reused = client.post(f"/v1/redemptions/{second}/cancel", headers={"Idempotency-Key": "k"})
    assert reused.status_code == 409
    assert client.get(f"/v1/redemptions/{second}").json()["status"] == "CONFIRMED"
