"""Award requests the engine refuses, and the quote: bad input is a 4xx naming its field and writes
nothing; a quote prices from the chart and holds nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.adapters.db.ledger import Posting
from miles.bootstrap import Container
from miles.domain.ledger import GOODWILL
from tests.integration.conftest import NOW
from tests.integration.factories import enrol
from tests.integration.redemption_helpers import (
    TRIP,
    account,
    bag,
    flight,
    grant_miles,
    hotel,
    redeem,
    set_supplier,
)

WRITTEN = (
    "redemptions",
    "redemption_items",
    "holds",
    "task_outbox",
    "idempotency_keys",
    "sim_supplier_bookings",
)
YESTERDAY = (NOW - timedelta(days=1)).date()


def written(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t: int(c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in WRITTEN}


@pytest.fixture
def member(client: TestClient, container: Container) -> str:
    number = enrol(client)
    grant_miles(container, number, 100_000)
    return number


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        (flight(cabin="premium_economy"), "unknown_cabin", "items[0].cabin"),
        (flight(cabin="luxury"), "unknown_cabin", "items[0].cabin"),
        (hotel(category=6), "unknown_hotel_category", "items[0].hotel_category"),
        (hotel(category=0), "unknown_hotel_category", "items[0].hotel_category"),
        (hotel(nights=0), "invalid_nights", "items[0].nights"),
        (hotel(nights=10), "invalid_nights", "items[0].nights"),
        (bag(pieces=0), "invalid_pieces", "items[0].pieces"),
        (bag(pieces=4), "invalid_pieces", "items[0].pieces"),
        (flight(day=YESTERDAY), "date_in_past", "items[0].departure_date"),
        (bag(day=YESTERDAY), "date_in_past", "items[0].departure_date"),
        (hotel(day=YESTERDAY), "date_in_past", "items[0].check_in_date"),
        (flight(origin="XXX"), "unknown_airport", "items[0].origin"),
        (flight(destination="JFK"), "invalid_input", "items[0].destination"),
        ({**flight(), "kind": "car"}, "invalid_input", "items[0].kind"),
        ({**hotel(), "nights": "3"}, "invalid_input", "items[0].nights"),
        ({**flight(), "departure_date": "10/01/2027"}, "invalid_input", "items[0].departure_date"),
        ({**flight(), "seat": "1A"}, "unknown_field", "items[0].seat"),
    ],
)
def test_a_bad_item_is_refused_naming_its_field_and_nothing_is_written(
    client: TestClient, engine: Engine, member: str, item: dict[str, Any], code: str, field: str
) -> None:
    before = written(engine)
    for path in ("/v1/redemptions", "/v1/awards/quote"):
        response = client.post(
            path,
            json={"member_number": member, "items": [item]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["field"] == field
    assert written(engine) == before
    assert account(engine, member) == (100_000, 0)


def test_the_second_item_is_named_by_its_index(client: TestClient, member: str) -> None:
    response = redeem(client, member, flight(), hotel(nights=12))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "items[1].nights"


@pytest.mark.parametrize("items", [[], [flight()] * 11])
def test_an_award_has_one_to_ten_items(
    client: TestClient, engine: Engine, member: str, items: list[Any]
) -> None:
    response = redeem(client, member, *items)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "items"
    assert written(engine)["redemptions"] == 0


def test_an_unknown_member_is_404_and_a_mistyped_number_422(client: TestClient, engine: Engine) -> None:
    unknown = redeem(client, "1000000990", flight())
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "code": "member_not_found",
        "message": "no member 1000000990",
        "field": "member_number",
    }
    mistyped = redeem(client, "1000000017", flight())
    assert mistyped.status_code == 422
    assert mistyped.json()["error"]["code"] == "invalid_member_number"
    assert written(engine)["redemptions"] == 0


def test_not_enough_miles_is_a_422_that_says_how_many_are_missing(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 20_000)
    response = redeem(client, member, flight())
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "insufficient_miles"
    assert "5000 missing" in error["message"]
    assert written(engine)["redemptions"] == 0


def test_miles_already_held_are_not_available_to_another_award(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 30_000)
    set_supplier(container, "flights", unknown_outcome_rate=1.0)  # the first award stays PENDING, held
    assert redeem(client, member, flight()).status_code == 202
    container.dispatcher.drain()  # type: ignore[attr-defined]
    assert account(engine, member) == (30_000, 25_000)
    second = redeem(client, member, flight())
    assert second.status_code == 422
    assert second.json()["error"]["message"] == (
        "not enough miles: the award costs 25000, 5000 are available, 20000 missing"
    )
    quote = client.post("/v1/awards/quote", json={"member_number": member, "items": [flight()]})
    assert quote.json()["available_miles"] == 5_000


def test_a_member_in_debt_cannot_redeem(client: TestClient, container: Container, engine: Engine) -> None:
    member = enrol(client)
    grant_miles(container, member, 10_000)
    with container.uow() as uow:  # a reversal of miles already spent leaves a debt
        record = uow.members.lock(member)
        assert record is not None
        uow.ledger.post(
            Posting(
                record.account_id, uow.ledger.programme_account(GOODWILL), 12_000, "goodwill_reversal", NOW
            )
        )
    response = redeem(client, member, hotel(category=1, nights=1))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "balance_in_debt"
    assert written(engine)["redemptions"] == 0


def test_the_same_idempotency_key_replays_and_with_another_body_is_409(
    client: TestClient, container: Container, engine: Engine, member: str
) -> None:
    first = redeem(client, member, flight(), key="agent-42-booking-1")
    again = redeem(client, member, flight(), key="agent-42-booking-1")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    other = redeem(client, member, flight(cabin="business"), key="agent-42-booking-1")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    container.dispatcher.drain()  # type: ignore[attr-defined]
    assert written(engine)["redemptions"] == 1
    assert account(engine, member)[0] == 75_000


def test_a_redemption_needs_an_idempotency_key(client: TestClient, engine: Engine, member: str) -> None:
    response = client.post("/v1/redemptions", json={"member_number": member, "items": [flight()]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "missing_idempotency_key"
    assert written(engine)["redemptions"] == 0


def test_reads_and_writes_need_their_scopes(client: TestClient, container: Container, member: str) -> None:
    from tests.integration.conftest import make_key

    reader = {"Authorization": f"Bearer {make_key(container, ['member:read'])}"}
    response = client.post(
        "/v1/redemptions",
        json={"member_number": member, "items": [flight()]},
        headers={**reader, "Idempotency-Key": "k"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    quote = client.post(
        "/v1/awards/quote", json={"member_number": member, "items": [flight()]}, headers=reader
    )
    assert quote.status_code == 200
    assert quote.json()["miles"] > 0
    assert "redemption_id" not in quote.json()
    unknown = client.get("/v1/redemptions/1", headers=reader)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "redemption_not_found"


def test_a_quote_prices_every_kind_of_item_from_the_chart_and_holds_nothing(
    client: TestClient, container: Container, engine: Engine, member: str
) -> None:
    items = [
        flight("JFK", "BOS", cabin="first"),  # 187 miles: band 0-700
        flight("JFK", "ORD", cabin="economy"),  # 740 miles: band 701-1,500
        flight("JFK", "NRT", cabin="business"),  # 6,745 miles: band 5,001+
        bag("JFK", "LHR", pieces=2),  # 3,451 miles: 8,000 a bag
        hotel(category=5, nights=2),
    ]
    response = client.post("/v1/awards/quote", json={"member_number": member, "items": items})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "member_number": member,
        "miles": 25_000 + 10_000 + 75_000 + 16_000 + 50_000,
        "available_miles": 100_000,
        "items": [
            {"kind": "flight", "miles": 25_000, "fare": "saver"},
            {"kind": "flight", "miles": 10_000, "fare": "saver"},
            {"kind": "flight", "miles": 75_000, "fare": "saver"},
            {"kind": "baggage", "miles": 16_000},
            {"kind": "hotel", "miles": 50_000},
        ],
    }
    set_supplier(container, "flights", saver_seats=False)
    standard = client.post("/v1/awards/quote", json={"member_number": member, "items": [flight()]})
    assert standard.json()["items"] == [{"kind": "flight", "miles": 50_000, "fare": "standard"}]
    assert written(engine) == dict.fromkeys(WRITTEN, 0)
    assert account(engine, member) == (100_000, 0)


def test_today_is_not_in_the_past(client: TestClient, member: str) -> None:
    response = client.post(
        "/v1/awards/quote", json={"member_number": member, "items": [hotel(day=NOW.date(), nights=1)]}
    )
    assert response.status_code == 200
    assert TRIP > NOW.date()
