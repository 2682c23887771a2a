"""Awards in the console, over the redemption use cases: quote, book, watch PENDING turn CONFIRMED,
cancel with the fee shown first; refusals next to their fields with nothing held."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.adapters.suppliers.protocol import Suppliers
from miles.bootstrap import Container
from miles.domain.errors import SupplierTimeout
from tests.integration.console_helpers import (
    HTMX,
    console_client,
    field_errors,
    make_agent,
    member_balance,
    signed_in,
)
from tests.integration.factories import enrol
from tests.integration.redemption_helpers import TRIP, flight, grant_miles

FLIGHT = {"origin": "jfk", "destination": "LHR", "departure_date": TRIP.isoformat(), "cabin": "economy"}


@pytest.fixture
def desk(container: Container) -> tuple[TestClient, str]:
    make_agent(container, "rita")
    with console_client(container) as tc:
        yield tc, signed_in(tc, "rita")  # type: ignore[misc]


def held(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT coalesce(sum(pending), 0) FROM accounts")).scalar_one())


def test_an_agent_quotes_books_and_sees_the_award_confirm(
    container: Container, client: TestClient, engine: Engine, desk: tuple[TestClient, str]
) -> None:
    console, token = desk
    member = enrol(client)
    grant_miles(container, member, 30_000)
    url = f"/console/members/{member}/awards"
    quoted = console.post(f"{url}/quote", data=FLIGHT | {"bags": "1", "csrf_token": token}, headers=HTMX)
    assert quoted.status_code == 200
    assert "flight (saver): 25,000 miles" in quoted.text
    assert "baggage: 8,000 miles" in quoted.text
    assert "short by 3,000 miles" in quoted.text
    assert held(engine) == 0  # a quote holds nothing
    booked = console.post(
        f"{url}/book", data=FLIGHT | {"csrf_token": token, "request_key": "k1"}, headers=HTMX
    )
    assert booked.status_code == 200
    assert booked.headers["HX-Trigger"] == "memberChanged"
    redemption_id = int(re.search(r"redemption (\d+)", booked.text).group(1))  # type: ignore[union-attr]
    again = console.post(
        f"{url}/book", data=FLIGHT | {"csrf_token": token, "request_key": "k1"}, headers=HTMX
    )
    assert f"redemption {redemption_id}" in again.text  # a double submission books once
    container.dispatcher.drain()  # type: ignore[attr-defined]
    status = console.get(f"/console/redemptions/{redemption_id}/status", headers=HTMX)
    assert ">CONFIRMED<" in status.text
    assert "hx-trigger" not in status.text
    assert status.headers["HX-Trigger"] == "memberChanged"
    page = console.get(f"/console/members/{member}").text
    assert f'data-testid="redemption-{redemption_id}-status"' in page
    assert member_balance(engine, member) == 5_000
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM redemptions")).scalar_one() == 1


def test_a_pending_award_is_polled_and_its_miles_show_as_held(
    container: Container, client: TestClient, desk: tuple[TestClient, str]
) -> None:
    console, token = desk
    member = enrol(client)
    grant_miles(container, member, 30_000)
    container.dispatcher.send = lambda task, payload: None  # type: ignore[method-assign]  # nobody books yet
    console.post(f"/console/members/{member}/awards/book", data=FLIGHT | {"csrf_token": token}, headers=HTMX)
    page = console.get(f"/console/members/{member}").text
    assert re.search(r">PENDING<", page)
    assert 'hx-trigger="every 1s"' in page
    assert 'data-testid="pending-miles">25,000<' in page


def test_cancelling_shows_the_fee_first_then_returns_the_miles_less_the_fee(
    container: Container, client: TestClient, engine: Engine, desk: tuple[TestClient, str]
) -> None:
    console, token = desk
    member = enrol(client)
    grant_miles(container, member, 30_000)
    booked = console.post(
        f"/console/members/{member}/awards/book", data=FLIGHT | {"csrf_token": token}, headers=HTMX
    )
    redemption_id = int(re.search(r"redemption (\d+)", booked.text).group(1))  # type: ignore[union-attr]
    container.dispatcher.drain()  # type: ignore[attr-defined]
    terms = console.get(f"/console/redemptions/{redemption_id}/cancel", headers=HTMX)
    assert 'data-testid="cancel-fee">3,000<' in terms.text
    assert 'data-testid="cancel-refund">22,000<' in terms.text
    assert member_balance(engine, member) == 5_000  # showing the terms changes nothing
    done = console.post(
        f"/console/redemptions/{redemption_id}/cancel",
        data={"csrf_token": token, "reason": "trip off"},
        headers=HTMX,
    )
    assert done.status_code == 200
    assert "22,000 miles returned" in done.text
    assert "3,000 kept as the fee" in done.text
    assert member_balance(engine, member) == 27_000
    again = console.get(f"/console/redemptions/{redemption_id}/cancel", headers=HTMX)
    assert "only a confirmed award can be cancelled" in again.text
    with engine.connect() as c:
        actions = c.execute(
            text("SELECT action, reason FROM audit_log WHERE action LIKE 'redemption.%' ORDER BY id")
        ).all()
    assert [a.action for a in actions] == ["redemption.booked", "redemption.cancelled"]
    assert actions[1].reason == "trip off"


def test_an_award_the_member_cannot_pay_says_what_is_missing_and_holds_nothing(
    container: Container, client: TestClient, engine: Engine, desk: tuple[TestClient, str]
) -> None:
    console, token = desk
    member = enrol(client)
    grant_miles(container, member, 10_000)
    refused = console.post(
        f"/console/members/{member}/awards/book", data=FLIGHT | {"csrf_token": token}, headers=HTMX
    )
    assert refused.status_code == 422
    assert "15000 missing" in refused.text
    assert held(engine) == 0
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM redemptions")).scalar_one() == 0


def test_bad_award_fields_are_shown_next_to_them(
    container: Container, client: TestClient, engine: Engine, desk: tuple[TestClient, str]
) -> None:
    console, token = desk
    member = enrol(client)
    grant_miles(container, member, 100_000)
    url = f"/console/members/{member}/awards/book"
    shape = console.post(
        url,
        data={
            "origin": "J1",
            "destination": "LHR",
            "departure_date": "soon",
            "bags": "9",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert shape.status_code == 422
    assert set(field_errors(shape.text)) == {"origin", "departure_date", "bags"}
    past = console.post(
        url, data=FLIGHT | {"departure_date": "2026-01-01", "csrf_token": token}, headers=HTMX
    )
    assert "in the past" in field_errors(past.text)["departure_date"]
    unknown = console.post(url, data=FLIGHT | {"origin": "QQQ", "csrf_token": token}, headers=HTMX)
    assert "unknown airport" in field_errors(unknown.text)["origin"]
    hotel = console.post(
        url,
        data={
            "city": "LON",
            "check_in_date": TRIP.isoformat(),
            "nights": "12",
            "hotel_category": "2",
            "csrf_token": token,
        },
        headers=HTMX,
    )
    assert "Nights is 1 to 9" in field_errors(hotel.text)["nights"]
    nothing = console.post(url, data={"csrf_token": token}, headers=HTMX)
    assert nothing.status_code == 422
    assert "ask for a flight" in nothing.text
    assert held(engine) == 0


class SilentSupplier:
    """A flights supplier that never answers a quote in time."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    def quote(self, item: Any) -> Any:
        raise SupplierTimeout(f"{self.name}: no answer in time")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_the_console_answers_a_refusal_with_the_status_the_api_gives_it(
    container: Container, client: TestClient, engine: Engine, desk: tuple[TestClient, str]
) -> None:
    console, token = desk
    member = enrol(client)
    grant_miles(container, member, 30_000)
    s = container.suppliers
    container.suppliers = Suppliers(SilentSupplier(s.flights), s.hotels, s.baggage)

    api = client.post("/v1/awards/quote", json={"member_number": member, "items": [flight()]})
    page = console.post(
        f"/console/members/{member}/awards/book", data=FLIGHT | {"csrf_token": token}, headers=HTMX
    )

    assert (api.status_code, api.json()["error"]["code"]) == (503, "supplier_unavailable")
    assert page.status_code == 503  # one mapping from the error tree; the form shows the message
    assert re.search(r"flights did not answer; nothing was held, try again", page.text)
    assert held(engine) == 0
