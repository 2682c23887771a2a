"""The sweeper and repeated deliveries: no redemption and no hold is left behind, whatever stopped its saga,
and a booking job that runs many times books and posts once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.adapters.db.unit_of_work import UnitOfWork
from miles.api.redemption_schemas import RedemptionRequest
from miles.bootstrap import Container
from miles.services.clock import FixedClock
from miles.services.redemptions import settlement
from miles.services.redemptions.saga_runtime import BOOK, SWEEP
from miles.services.redemptions.submission import place_redemption, price_request
from tests.integration.factories import enrol
from tests.integration.redemption_helpers import (
    account,
    bookings,
    flight,
    grant_miles,
    hold_status,
    hotel,
    redeem,
    set_supplier,
    wait_for,
)


def held(container: Container, member: str, *items: dict[str, Any]) -> int:
    """A redemption held and recorded whose booking job never left the outbox (a lost message)."""
    request = RedemptionRequest.model_validate(
        {"member_number": member, "items": list(items)}
    ).award_request()
    priced = price_request(container, request)
    with UnitOfWork(container.engine) as uow:  # no after-commit relay
        return place_redemption(uow, container.clock, container.hold_timing, priced).redemption_id


def sweep(container: Container) -> None:
    container.run_job(SWEEP, {})
    container.dispatcher.drain()  # type: ignore[attr-defined]


@pytest.fixture
def member(client: TestClient, container: Container) -> str:
    number = enrol(client)
    grant_miles(container, number, 30_000)
    return number


def test_a_redemption_whose_booking_job_was_lost_is_booked_by_the_sweeper(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine, member: str
) -> None:
    redemption_id = held(container, member, flight())
    sweep(container)
    assert client.get(f"/v1/redemptions/{redemption_id}").json()["status"] == "PENDING"  # not due yet
    clock.at += timedelta(seconds=container.hold_timing.retry_seconds + 1)
    sweep(container)
    wait_for(client, redemption_id, "CONFIRMED")
    assert len(bookings(engine)) == 1
    assert account(engine, member) == (5_000, 0)


def test_an_expired_hold_with_no_booking_expires_from_the_suppliers_answer(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine, member: str
) -> None:
    redemption_id = held(container, member, flight())
    clock.at += timedelta(seconds=container.hold_timing.hold_seconds + 1)
    sweep(container)
    done = wait_for(client, redemption_id, "FAILED")
    assert done["failure_reason"] == "no booking from flights when the hold expired"
    assert hold_status(engine, redemption_id) == "EXPIRED"
    assert bookings(engine) == []
    assert account(engine, member) == (30_000, 0)


def test_an_outcome_the_supplier_did_not_tell_is_settled_from_its_answer_after_the_hold_expires(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine, member: str
) -> None:
    set_supplier(container, "flights", unknown_outcome_rate=1.0)  # books, then times out
    redemption_id = redeem(client, member, flight()).json()["redemption_id"]
    container.dispatcher.drain()  # type: ignore[attr-defined]
    pending = client.get(f"/v1/redemptions/{redemption_id}").json()
    assert pending["status"] == "PENDING"
    assert "outcome unknown" in pending["history"][-1]["reason"]
    assert account(engine, member) == (30_000, 25_000)
    clock.at += timedelta(seconds=container.hold_timing.hold_seconds + 1)
    sweep(container)
    done = wait_for(client, redemption_id, "CONFIRMED")
    assert done["history"][-1]["reason"] == "the suppliers confirmed the booking after the hold expired"
    assert [b["status"] for b in bookings(engine)] == ["BOOKED"]
    assert account(engine, member) == (5_000, 0)


def test_a_booking_job_delivered_many_times_at_once_books_and_posts_once(
    client: TestClient, container: Container, engine: Engine, member: str
) -> None:
    set_supplier(container, "flights", latency_ms=50)
    redemption_id = held(container, member, flight())
    with ThreadPoolExecutor(6) as pool:
        outcomes = list(
            pool.map(lambda _: container.run_job(BOOK, {"redemption_id": redemption_id}), range(6))
        )
    assert "CONFIRMED" in outcomes
    assert set(outcomes) <= {"CONFIRMED", "PENDING"}
    assert len(bookings(engine)) == 1
    body = client.get(f"/v1/redemptions/{redemption_id}").json()
    assert [h["status"] for h in body["history"]] == ["PENDING", "CONFIRMED"]
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM transfers WHERE code = 'redemption'")).scalar_one() == 1
    assert account(engine, member) == (5_000, 0)


def test_bookings_of_a_failed_redemption_left_by_a_stopped_worker_are_released_by_the_sweeper(
    client: TestClient,
    container: Container,
    clock: FixedClock,
    engine: Engine,
    member: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def stopped(*_: Any) -> None:
        raise RuntimeError("the worker stopped here")

    set_supplier(container, "hotels", failure_rate=1.0)
    monkeypatch.setattr(settlement, "release", stopped)
    redemption_id = redeem(client, member, flight("JFK", "BOS"), hotel(category=1, nights=1)).json()[
        "redemption_id"
    ]
    container.dispatcher.drain()  # type: ignore[attr-defined]
    monkeypatch.undo()
    wait_for(client, redemption_id, "FAILED")
    assert [b["status"] for b in bookings(engine)] == ["BOOKED"]  # the flight, not cancelled yet

    clock.at += timedelta(seconds=container.hold_timing.retry_seconds + 1)
    sweep(container)
    assert [b["status"] for b in bookings(engine)] == ["CANCELLED"]
    assert account(engine, member) == (30_000, 0)


def test_a_cancellation_the_supplier_did_not_answer_is_finished_by_the_sweeper(
    client: TestClient,
    container: Container,
    clock: FixedClock,
    engine: Engine,
    member: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redemption_id = redeem(client, member, flight()).json()["redemption_id"]
    container.dispatcher.drain()  # type: ignore[attr-defined]
    wait_for(client, redemption_id, "CONFIRMED")

    def no_answer(key: str) -> None:
        raise TimeoutError(key)

    monkeypatch.setattr(container.suppliers.flights, "cancel", no_answer)
    response = client.post(f"/v1/redemptions/{redemption_id}/cancel")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "supplier_unavailable"
    assert client.get(f"/v1/redemptions/{redemption_id}").json()["status"] == "CONFIRMED"
    monkeypatch.undo()

    clock.at += timedelta(seconds=container.hold_timing.retry_seconds + 1)
    sweep(container)
    body = wait_for(client, redemption_id, "CANCELLED")
    assert (body["refunded_miles"], body["fee_miles"]) == (22_000, 3_000)
    assert [b["status"] for b in bookings(engine)] == ["CANCELLED"]
    assert account(engine, member) == (27_000, 0)
