"""Booking awards through the API with the in-process saga: priced from the chart, held, booked, posted;
several items all or nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.factories import enrol
from tests.integration.redemption_helpers import (
    account,
    bag,
    bookings,
    flight,
    grant_miles,
    hold_status,
    hotel,
    redeem,
    set_supplier,
    wait_for,
)


def test_a_flight_award_is_held_then_booked_and_posted(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 30_000)
    response = redeem(client, member, flight())
    assert response.status_code == 202, response.text
    body = response.json()
    assert body == {
        "redemption_id": body["redemption_id"],
        "status": "PENDING",
        "miles": 25_000,
        "items": [{"kind": "flight", "miles": 25_000, "fare": "saver"}],
    }
    container.dispatcher.drain()  # type: ignore[attr-defined]
    done = wait_for(client, body["redemption_id"], "CONFIRMED")
    assert [h["status"] for h in done["history"]] == ["PENDING", "CONFIRMED"]
    assert done["items"][0]["booking_reference"]
    assert account(engine, member) == (5_000, 0)
    assert hold_status(engine, body["redemption_id"]) == "POSTED"
    assert bookings(engine) == [
        {"supplier": "flights", "key": f"redemption:{body['redemption_id']}:1", "status": "BOOKED"}
    ]
    summary = client.get(f"/v1/members/{member}").json()
    assert (summary["award_miles"], summary["pending_miles"], summary["available_miles"]) == (5_000, 0, 5_000)
    statement = client.get(f"/v1/members/{member}/statement").json()["transfers"]
    assert statement[0]["code"] == "redemption"
    assert statement[0]["miles"] == -25_000


def test_flight_bag_and_hotel_book_together_with_each_supplier(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 60_000)
    response = redeem(client, member, flight(), bag(), hotel())
    assert response.status_code == 202, response.text
    assert response.json()["items"] == [
        {"kind": "flight", "miles": 25_000, "fare": "saver"},
        {"kind": "baggage", "miles": 8_000},
        {"kind": "hotel", "miles": 24_000},
    ]
    assert response.json()["miles"] == 57_000
    container.dispatcher.drain()  # type: ignore[attr-defined]
    wait_for(client, response.json()["redemption_id"], "CONFIRMED")
    assert [b["supplier"] for b in bookings(engine)] == ["baggage", "flights", "hotels"]
    assert account(engine, member) == (3_000, 0)


def test_without_saver_seats_a_flight_is_standard_at_twice_the_price(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 100_000)
    set_supplier(container, "flights", saver_seats=False)
    response = redeem(client, member, flight())
    assert response.json()["items"] == [{"kind": "flight", "miles": 50_000, "fare": "standard"}]
    container.dispatcher.drain()  # type: ignore[attr-defined]
    assert wait_for(client, response.json()["redemption_id"], "CONFIRMED")["items"][0]["fare"] == "standard"
    assert account(engine, member) == (50_000, 0)


def test_one_refused_item_cancels_the_booked_ones_and_voids_the_whole_hold(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 60_000)
    set_supplier(container, "hotels", failure_rate=1.0, failure_reason="the hotel is full")
    response = redeem(client, member, flight(), bag(), hotel())
    container.dispatcher.drain()  # type: ignore[attr-defined]
    done = wait_for(client, response.json()["redemption_id"], "FAILED")
    assert done["failure_reason"] == "hotels: the hotel is full"
    assert done["history"][-1] == {
        "status": "FAILED",
        "at": done["history"][-1]["at"],
        "reason": "hotels: the hotel is full",
    }
    assert [(b["supplier"], b["status"]) for b in bookings(engine)] == [
        ("baggage", "CANCELLED"),
        ("flights", "CANCELLED"),
    ]
    assert account(engine, member) == (60_000, 0)
    assert hold_status(engine, response.json()["redemption_id"]) == "VOIDED"
    with engine.connect() as c:
        assert c.execute(text("SELECT released_at IS NOT NULL FROM redemptions")).scalar_one()
