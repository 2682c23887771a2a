"""Missing-miles claims: accepted from 7 days to 6 months after departure, earned through the accrual
rules (channel "claim") under the coupon's own key, so the booking system sending it later replays."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.console_helpers import (
    HTMX,
    console_client,
    counts,
    field_errors,
    make_agent,
    member_balance,
    signed_in,
)
from tests.integration.factories import coupon, enrol, next_ticket

TODAY = "2026-11-23"  # the tests' clock


def claim_form(**overrides: str) -> dict[str, str]:
    form = {
        "ticket_number": next_ticket(),
        "coupon_number": "1",
        "marketing_carrier": "YY",
        "operating_carrier": "",
        "flight_number": "123",
        "origin": "JFK",
        "destination": "LHR",
        "departure_date": "2026-11-01",
        "booking_class": "Y",
        "fare_amount": "",
        "fare_currency": "",
        "comment": "boarding pass seen",
    }
    return form | overrides


def file(console: TestClient, token: str, member: str, form: dict[str, str]) -> Any:
    return console.post(f"/console/members/{member}/claims", data=form | {"csrf_token": token}, headers=HTMX)


@pytest.fixture
def agent(container: Container) -> str:
    make_agent(container, "claire")
    return "claire"


def test_a_claim_in_the_window_earns_by_the_accrual_rules(
    container: Container, client: TestClient, engine: Engine, agent: str
) -> None:
    member = enrol(client)
    with console_client(container) as console:
        response = file(console, signed_in(console, agent), member, claim_form())
        assert response.status_code == 200, response.text
        assert "earned 3,451 miles" in response.text
    assert member_balance(engine, member) == 3451
    with engine.connect() as c:
        accrual = c.execute(text("SELECT channel, award_miles, CAST(credits[1] AS int) FROM accruals")).one()
        claim = c.execute(text("SELECT filed_by, comment FROM missing_miles_claims")).one()
    assert tuple(accrual) == ("claim", 3451, 3451)  # credits[1]: status miles, the first metric
    assert tuple(claim) == ("claire", "boarding pass seen")


@pytest.mark.parametrize(
    ("departure", "accepted"),
    [("2026-11-16", True), ("2026-11-17", False), ("2026-05-23", True), ("2026-05-22", False)],
    ids=["7-days", "6-days", "6-months", "6-months-and-a-day"],
)
def test_the_claim_window_is_inclusive_at_both_ends(
    container: Container, client: TestClient, engine: Engine, agent: str, departure: str, accepted: bool
) -> None:
    member = enrol(client)
    with console_client(container) as console:
        token = signed_in(console, agent)
        before = counts(engine)
        response = file(console, token, member, claim_form(departure_date=departure))
    if accepted:
        assert response.status_code == 200
        assert member_balance(engine, member) == 3451
    else:
        assert response.status_code == 422
        assert "too early" in field_errors(response.text)["departure_date"] or "too late" in response.text
        assert counts(engine) == before


def test_the_booking_system_sending_a_claimed_coupon_later_gets_a_replay(
    container: Container, client: TestClient, engine: Engine, agent: str
) -> None:
    member = enrol(client)
    ticket = next_ticket()
    form = claim_form(
        ticket_number=ticket,
        marketing_carrier="ZZ",
        booking_class="B",
        fare_amount="512.4",
        fare_currency="eur",
    )
    with console_client(container) as console:
        assert file(console, signed_in(console, agent), member, form).status_code == 200
    balance = member_balance(engine, member)
    later = client.post(
        "/v1/accruals/flights",
        json=coupon(
            member,
            ticket_number=ticket,
            marketing_carrier="ZZ",
            operating_carrier="ZZ",
            booking_class="B",
            departure_date="2026-11-01",
            fare={"amount": "512.40", "currency": "EUR"},
        ),
    )
    assert later.status_code == 200  # a replay of the claim's accrual, not a second earning
    with engine.connect() as c:
        assert (
            later.json()["accrual_id"]
            == c.execute(text("SELECT accrual_id FROM missing_miles_claims")).scalar()
        )
    assert member_balance(engine, member) == balance == 2766  # floor(512.40 EUR x 1.08 = 553.39 USD, x 5)


def test_a_coupon_already_credited_cannot_be_claimed_again(
    container: Container, client: TestClient, engine: Engine, agent: str
) -> None:
    member = enrol(client)
    sent = coupon(member, departure_date="2026-11-01")
    assert client.post("/v1/accruals/flights", json=sent).status_code == 201
    with console_client(container) as console:
        token = signed_in(console, agent)
        before = counts(engine)
        response = file(console, token, member, claim_form(ticket_number=sent["ticket_number"]))
        assert response.status_code == 409  # a conflict, as the API answers it
        assert "was already credited" in field_errors(response.text)["ticket_number"]
        assert counts(engine) == before
    assert member_balance(engine, member) == 3451


def test_every_bad_field_of_a_claim_is_shown_and_nothing_written(
    container: Container, client: TestClient, engine: Engine, agent: str
) -> None:
    member = enrol(client)
    with console_client(container) as console:
        token = signed_in(console, agent)
        before = counts(engine)
        response = file(
            console,
            token,
            member,
            claim_form(
                ticket_number="12345",
                coupon_number="7",
                flight_number="ABCDE",
                origin="J1K",
                departure_date="01/11/2026",
                booking_class="",
                fare_amount="12.345",
            ),
        )
        assert response.status_code == 422
        assert set(field_errors(response.text)) == {
            "ticket_number",
            "coupon_number",
            "flight_number",
            "origin",
            "departure_date",
            "booking_class",
            "fare_amount",
        }
        no_currency = file(console, token, member, claim_form(marketing_carrier="ZZ", fare_amount="10"))
        assert field_errors(no_currency.text) == {
            "fare_currency": "give the fare's currency, its 3-letter ISO code"
        }
        unknown_airport = file(console, token, member, claim_form(origin="QQQ"))
        assert "unknown airport" in field_errors(unknown_airport.text)["origin"]
        zz_without_fare = file(console, token, member, claim_form(marketing_carrier="ZZ"))
        assert "fare is required" in field_errors(zz_without_fare.text)["fare_amount"]
        assert counts(engine) == before


@pytest.mark.parametrize(
    "fare", [None, {"amount": "512.40", "currency": "EUR"}, {"amount": "7", "currency": "USD"}], ids=str
)
def test_a_claim_fingerprints_a_coupon_exactly_as_the_accrual_api_does(fare: dict[str, str] | None) -> None:
    from miles.api.schemas import FlightAccrualRequest
    from miles.services.claims import accrual_digest

    body = coupon("1000000016", departure_date="2026-11-01", fare=fare or ...)
    request = FlightAccrualRequest.model_validate(body)
    assert accrual_digest(request.coupon()) == request.digest()


def test_a_problem_with_no_field_on_the_form_is_shown_at_its_top(
    container: Container, engine: Engine, agent: str
) -> None:
    with console_client(container) as console:
        token = signed_in(console, agent)
        before = counts(engine)
        response = file(console, token, "1000000017", claim_form())
        assert response.status_code == 422
        assert re.search(r'role="alert"[^>]*>.*?mistyped\?', response.text, re.DOTALL)
        assert counts(engine) == before
