"""Every path that credits miles is bounded (issue 10, items 1, 4-6 and 10's booking horizon): a fare
ceiling, the accrual window, the departure airport's date, claims and goodwill past the limits waiting
for a supervisor, awards within the booking horizon. Each through the HTTP app, nothing written on a
refusal."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.conftest import NOW, make_key
from tests.integration.console_helpers import HTMX, console_client, make_agent, member_balance, signed_in
from tests.integration.factories import coupon, enrol, row_counts
from tests.integration.redemption_helpers import flight, grant_miles, hotel

BOARDING_PASS = "boarding pass seen"


def zz(member: str, amount: str, currency: str = "USD", **overrides: Any) -> dict[str, Any]:
    return coupon(
        member,
        marketing_carrier="ZZ",
        operating_carrier="ZZ",
        booking_class="Y",
        fare={"amount": amount, "currency": currency},
        **overrides,
    )


def claim(client: TestClient, body: dict[str, Any]) -> httpx.Response:
    return client.post("/v1/claims", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})


def refused(response: httpx.Response, code: str, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize("amount", ["400000000", "999999999999.99", "50000.01"])
def test_a_fare_above_the_ceiling_is_a_422_naming_the_fare_and_nothing_is_written(
    client: TestClient, engine: Engine, amount: str
) -> None:
    member = enrol(client)
    before = row_counts(engine)
    refused(client.post("/v1/accruals/flights", json=zz(member, amount)), "fare_above_ceiling", "fare.amount")
    assert row_counts(engine) == before
    assert client.post("/v1/accruals/flights", json=zz(member, "50000.00")).status_code == 201


@pytest.mark.parametrize("departure", ["0001-01-01", "1949-12-31", "1969-07-20", "2000-01-01", "2026-05-22"])
def test_a_coupon_older_than_the_accrual_window_is_coupon_too_old_and_opens_no_lot(
    client: TestClient, engine: Engine, departure: str
) -> None:
    member = enrol(client)
    before = row_counts(engine)
    response = client.post("/v1/accruals/flights", json=coupon(member, departure_date=departure))
    refused(response, "coupon_too_old", "departure_date")
    assert row_counts(engine) == before


def test_the_first_day_of_the_accrual_window_still_earns(client: TestClient) -> None:
    member = enrol(client)
    assert (
        client.post("/v1/accruals/flights", json=coupon(member, departure_date="2026-05-23")).status_code
        == 201
    )


def test_a_batch_item_the_database_would_refuse_is_rejected_alone(client: TestClient, engine: Engine) -> None:
    member = enrol(client)
    items = [
        coupon(member, origin="SEA"),
        coupon(member, departure_date="1949-12-31"),
        zz(member, "999999999999.99"),
        coupon(member, origin="SFO"),
        coupon(member, departure_date="1969-07-20"),
        coupon(member, departure_date="0001-01-01"),
        zz(member, "400000000", "JPY"),
    ]
    response = client.post("/v1/accruals/flights/batch", json={"items": items})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "created",
        "rejected",
        "rejected",
        "created",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert [r["error"]["code"] for r in results if r["status"] == "rejected"] == [
        "coupon_too_old",
        "fare_above_ceiling",
        "coupon_too_old",
        "coupon_too_old",
        "fare_above_ceiling",
    ]
    with engine.connect() as c:
        assert (
            c.execute(text("SELECT count(*) FROM lots WHERE expires_date < :d"), {"d": NOW.date()}).scalar()
            == 0
        )
        assert c.execute(text("SELECT count(*) FROM accruals")).scalar() == 2


def test_a_flight_leaving_auckland_on_its_local_today_earns_while_utc_is_on_yesterday(
    client: TestClient,
) -> None:
    member = enrol(client)
    # the tests' clock: 2026-11-23 12:00 UTC, already 2026-11-24 01:00 in Auckland
    akl = coupon(member, origin="AKL", destination="SYD", departure_date="2026-11-24")
    assert client.post("/v1/accruals/flights", json=akl).status_code == 201
    lax = coupon(member, origin="LAX", destination="SYD", departure_date="2026-11-24")
    refused(client.post("/v1/accruals/flights", json=lax), "invalid_input", "departure_date")


def test_a_claim_above_the_agent_limit_waits_and_the_supervisor_credits_it_under_the_coupons_key(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    body = zz(member, "40000.00", departure_date="2026-11-01")  # 200,000 miles at BLUE's rate of 5
    filed = claim(client, body | {"comment": BOARDING_PASS})
    assert filed.status_code == 201, filed.text
    assert (filed.json()["status"], filed.json()["accrual_id"]) == ("PENDING", None)
    assert filed.json()["award_miles"] == 200_000
    assert member_balance(engine, member) == 0
    again = claim(client, body | {"comment": "filed twice"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "claim_waiting"

    make_agent(container, "sara", role="supervisor")
    with console_client(container) as supervisor:
        token = signed_in(supervisor, "sara")
        queue = supervisor.get("/console/approvals/claims")
        assert "200,000" in queue.text
        claim_id = filed.json()["claim_id"]
        approved = supervisor.post(
            f"/console/approvals/claims/{claim_id}/approve", data={"csrf_token": token}, headers=HTMX
        )
        assert approved.status_code == 200, approved.text
        assert "APPROVED" in approved.text
    assert member_balance(engine, member) == 200_000
    with engine.connect() as c:
        channel, accrual_id = c.execute(text("SELECT channel, id FROM accruals")).one()
        audit = c.execute(
            text("SELECT action FROM audit_log WHERE subject = :s ORDER BY id"), {"s": f"claim:{claim_id}"}
        )
        assert list(audit.scalars()) == ["claim.requested", "claim.approved"]
    assert channel == "claim"
    replay = client.post("/v1/accruals/flights", json=body)  # the booking system sends it at last
    assert replay.status_code == 200
    assert replay.json()["accrual_id"] == accrual_id


def test_a_claim_within_the_agent_limit_is_credited_at_once(client: TestClient, engine: Engine) -> None:
    member = enrol(client)
    filed = claim(client, zz(member, "1000.00", departure_date="2026-11-01"))
    assert filed.status_code == 201
    assert filed.json()["status"] == "APPLIED"
    assert member_balance(engine, member) == 5000


@pytest.mark.parametrize(
    ("departure", "code"), [("9999-12-31", "claim_too_early"), ("0001-01-01", "claim_too_late")]
)
def test_a_claim_for_a_departure_at_the_calendars_ends_is_a_422(
    client: TestClient, engine: Engine, departure: str, code: str
) -> None:
    member = enrol(client)
    before = row_counts(engine)
    refused(claim(client, coupon(member, departure_date=departure)), code, "departure_date")
    assert row_counts(engine) == before


def test_a_claim_with_a_fare_above_the_ceiling_is_a_422(client: TestClient, engine: Engine) -> None:
    member = enrol(client)
    before = row_counts(engine)
    response = claim(client, zz(member, "400000000", departure_date="2026-11-01"))
    refused(response, "fare_above_ceiling", "fare.amount")
    assert row_counts(engine) == before


def test_an_agent_filing_a_large_claim_in_the_console_sees_it_wait_and_cannot_approve_it(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "claire")
    form = {
        "ticket_number": "0012299000001",
        "coupon_number": "1",
        "marketing_carrier": "ZZ",
        "operating_carrier": "",
        "flight_number": "123",
        "origin": "JFK",
        "destination": "LHR",
        "departure_date": "2026-11-01",
        "booking_class": "Y",
        "fare_amount": "400000000",
        "fare_currency": "USD",
        "comment": BOARDING_PASS,
    }
    with console_client(container) as console:
        token = signed_in(console, "claire")
        path = f"/console/members/{member}/claims"
        too_big = console.post(path, data=form | {"csrf_token": token}, headers=HTMX)
        assert too_big.status_code == 422
        assert "ceiling" in too_big.text
        waiting = console.post(path, data=form | {"fare_amount": "4000", "csrf_token": token}, headers=HTMX)
        assert waiting.status_code == 200, waiting.text
        assert "waits for a supervisor" in waiting.text
        assert console.get("/console/approvals/claims").status_code == 403
    assert member_balance(engine, member) == 0


def test_goodwill_past_the_members_daily_limit_waits_for_a_supervisor(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    grants = [
        client.post(
            "/v1/adjustments",
            json={"member_number": member, "miles": 5000, "reason_code": "delay", "comment": f"grant {i}"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        for i in range(4)
    ]
    assert [g.status_code for g in grants] == [201] * 4
    assert [g.json()["status"] for g in grants] == ["APPLIED", "APPLIED", "PENDING", "PENDING"]
    assert member_balance(engine, member) == 10_000


def test_goodwill_raced_for_one_member_never_slips_past_the_daily_limit(
    live_server: str, container: Container, engine: Engine
) -> None:
    headers = {"Authorization": f"Bearer {make_key(container, ['adjustment:write', 'member:write'])}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=30) as client:
        number = client.post(
            "/v1/members", json={"given_name": "G", "family_name": "W", "email": "g@w.example"}
        ).json()["member_number"]

    def grant(i: int) -> httpx.Response:
        with httpx.Client(base_url=live_server, headers=headers, timeout=30) as own:
            return own.post(
                "/v1/adjustments",
                json={"member_number": number, "miles": 3000, "reason_code": "delay", "comment": f"race {i}"},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(grant, range(12)))
    assert [r.status_code for r in responses] == [201] * 12
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["APPLIED"] * 3 + ["PENDING"] * 9  # 3 x 3,000 <= 10,000 < 4 x 3,000
    assert member_balance(engine, number) == 9000


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (flight(day=(NOW + timedelta(days=356)).date()), "items[0].departure_date"),
        ({**flight(), "departure_date": "9999-12-31"}, "items[0].departure_date"),
        ({**hotel(), "check_in_date": "9999-12-31"}, "items[0].check_in_date"),
    ],
)
def test_an_award_beyond_the_booking_horizon_is_refused_naming_its_date(
    client: TestClient, container: Container, engine: Engine, item: dict[str, Any], field: str
) -> None:
    member = enrol(client)
    grant_miles(container, member, 100_000)
    for path in ("/v1/awards/quote", "/v1/redemptions"):
        response = client.post(
            path,
            json={"member_number": member, "items": [item]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        refused(response, "beyond_booking_horizon", field)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM redemptions")).scalar() == 0


def test_an_award_on_the_last_day_of_the_horizon_is_quoted(client: TestClient, container: Container) -> None:
    member = enrol(client)
    grant_miles(container, member, 100_000)
    last = flight(day=(NOW + timedelta(days=355)).date())
    assert client.post("/v1/awards/quote", json={"member_number": member, "items": [last]}).status_code == 200


def test_a_supervisor_rejects_a_waiting_claim_with_a_note_and_nothing_is_credited(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    filed = claim(client, zz(member, "2000.00", departure_date="2026-11-01"))  # 10,000 miles
    assert filed.json()["status"] == "PENDING"
    claim_id = filed.json()["claim_id"]
    make_agent(container, "sara", role="supervisor")
    with console_client(container) as supervisor:
        token = signed_in(supervisor, "sara")
        path = f"/console/approvals/claims/{claim_id}/reject"
        no_note = supervisor.post(path, data={"csrf_token": token}, headers=HTMX)
        assert no_note.status_code == 422
        assert "say why" in no_note.text
        rejected = supervisor.post(path, data={"csrf_token": token, "note": "no such flight"}, headers=HTMX)
        assert rejected.status_code == 200
        assert "REJECTED" in rejected.text
        late = supervisor.post(
            f"/console/approvals/claims/{claim_id}/approve", data={"csrf_token": token}, headers=HTMX
        )
        assert late.status_code == 409  # a conflict, as the goodwill queue and the API answer it
        assert "already rejected" in late.text
    assert member_balance(engine, member) == 0
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM accruals")).scalar() == 0


def test_nobody_approves_their_own_claim(container: Container, client: TestClient, engine: Engine) -> None:
    member = enrol(client)
    make_agent(container, "sam", role="supervisor")
    make_agent(container, "sara", role="supervisor")
    form = {
        "ticket_number": "0012299000002",
        "coupon_number": "1",
        "marketing_carrier": "ZZ",
        "operating_carrier": "",
        "flight_number": "123",
        "origin": "JFK",
        "destination": "LHR",
        "departure_date": "2026-11-01",
        "booking_class": "Y",
        "fare_amount": "3000",
        "fare_currency": "USD",
        "comment": BOARDING_PASS,
    }
    with console_client(container) as own:
        token = signed_in(own, "sam")
        filed = own.post(f"/console/members/{member}/claims", data=form | {"csrf_token": token}, headers=HTMX)
        assert "waits for a supervisor" in filed.text
        with engine.connect() as c:
            claim_id = c.execute(text("SELECT id FROM missing_miles_claims")).scalar_one()
        mine = own.post(
            f"/console/approvals/claims/{claim_id}/approve", data={"csrf_token": token}, headers=HTMX
        )
        assert mine.status_code == 403  # not allowed, as the goodwill queue and the API answer it
        assert "nobody approves their own claim" in mine.text
        claims = (
            own.get(f"/console/members/{member}").text.split('data-testid="claims"')[1].split("</table>")[0]
        )
        assert "PENDING" in claims
    assert member_balance(engine, member) == 0
    with console_client(container) as other:
        token = signed_in(other, "sara")
        approved = other.post(
            f"/console/approvals/claims/{claim_id}/approve", data={"csrf_token": token}, headers=HTMX
        )
        assert approved.status_code == 200
    assert member_balance(engine, member) == 15_000
