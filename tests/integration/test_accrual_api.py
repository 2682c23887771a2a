"""The accrual API through HTTP: earning, replays, conflicts, refusals that write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.integration.factories import balances, coupon, enrol, row_counts


def test_a_flown_coupon_earns_distance_miles_and_status(client: TestClient) -> None:
    member = enrol(client)
    response = client.post("/v1/accruals/flights", json=coupon(member))
    assert response.status_code == 201
    body = response.json()
    assert body["distance_miles"] == 3451
    assert body["base_miles"] == 3451
    assert body["award_miles"] == 3451
    assert body["status_miles"] == 3451
    assert body["segments"] == 1
    assert body["tier_after"] == "BLUE"
    assert body["balance_after"] == 3451
    summary = client.get(f"/v1/members/{member}").json()
    assert summary["award_miles"] == summary["available_miles"] == 3451
    assert summary["qualifying"] == {
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "metrics": {"status_miles": 3451, "segments": 1, "spend": "0.00"},
        "status_miles": 3451,
        "segments": 1,
    }
    assert body["qualifying"] == {"status_miles": 3451, "segments": 1, "spend": "0.00"}


def test_a_zz_coupon_earns_on_its_fare_converted_to_usd(client: TestClient) -> None:
    member = enrol(client)
    body = coupon(
        member, marketing_carrier="ZZ", operating_carrier="ZZ", fare={"amount": "100.00", "currency": "EUR"}
    )
    response = client.post("/v1/accruals/flights", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["base_miles"] == 540  # EUR 100 = USD 108.00 x 5 miles (BLUE)
    assert client.get(f"/v1/members/{member}").json()["qualifying"]["metrics"]["spend"] == "108.00"


def test_a_replayed_coupon_returns_the_original_result_and_earns_nothing_more(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    body = coupon(member)
    first = client.post("/v1/accruals/flights", json=body)
    before = row_counts(engine)
    again = client.post("/v1/accruals/flights", json=body)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert row_counts(engine) == before
    assert client.get(f"/v1/members/{member}").json()["award_miles"] == 3451


def test_the_same_coupon_with_another_body_is_a_conflict(client: TestClient, engine: Engine) -> None:
    member = enrol(client)
    body = coupon(member)
    assert client.post("/v1/accruals/flights", json=body).status_code == 201
    before = row_counts(engine)
    response = client.post("/v1/accruals/flights", json=body | {"booking_class": "J"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "coupon_already_accrued"
    assert row_counts(engine) == before


BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("wrong Luhn digit", {"member_number": "1000000018"}, "member_number"),
    ("unknown origin", {"origin": "QQQ"}, "origin"),
    ("unknown destination", {"destination": "XZX"}, "destination"),
    ("origin equals destination", {"destination": "JFK"}, "destination"),
    ("carrier outside the programme", {"marketing_carrier": "XX"}, "marketing_carrier"),
    ("booking class not sold", {"booking_class": "Z"}, "booking_class"),
    ("ZZ without a fare", {"marketing_carrier": "ZZ"}, "fare"),
    ("negative fare", {"fare": {"amount": "-1.00", "currency": "USD"}}, "fare.amount"),
    ("unknown currency", {"fare": {"amount": "100.00", "currency": "XYZ"}}, "fare.currency"),
    ("ticket number of 12 digits", {"ticket_number": "001228047603"}, "ticket_number"),
    ("ticket number with letters", {"ticket_number": "00122804760AB"}, "ticket_number"),
    ("coupon number 0", {"coupon_number": 0}, "coupon_number"),
    ("coupon number 5", {"coupon_number": 5}, "coupon_number"),
    ("departure in the future", {"departure_date": "2027-01-05"}, "departure_date"),
    ("malformed date", {"departure_date": "2026-02-30"}, "departure_date"),
    ("date in another format", {"departure_date": "01/10/2026"}, "departure_date"),
    ("unknown JSON field", {"seat": "12A"}, "seat"),
    ("missing field", {"origin": ...}, "origin"),
    ("coupon number as text", {"coupon_number": "one"}, "coupon_number"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_refused_with_422_naming_the_field_and_writes_nothing(
    client: TestClient, engine: Engine, case: str, change: dict[str, Any], field: str
) -> None:
    member = enrol(client)
    before, money = row_counts(engine), balances(engine)
    response = client.post("/v1/accruals/flights", json=coupon(member, **change))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert error["code"]
    assert error["message"]
    assert row_counts(engine) == before
    assert balances(engine) == money


def test_a_member_that_does_not_exist_is_404_and_writes_nothing(client: TestClient, engine: Engine) -> None:
    before = row_counts(engine)
    response = client.post("/v1/accruals/flights", json=coupon("1000000990"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "member_not_found"
    assert row_counts(engine) == before


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/accruals/flights", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_json"


def test_class_o_earns_nothing_but_is_recorded(client: TestClient) -> None:
    member = enrol(client)
    response = client.post("/v1/accruals/flights", json=coupon(member, booking_class="O"))
    assert response.status_code == 201
    assert response.json()["award_miles"] == 0
    assert response.json()["segments"] == 0
    assert client.get(f"/v1/members/{member}").json()["award_miles"] == 0


def test_crossing_the_silver_threshold_upgrades_at_once_and_earns_at_the_old_tier(client: TestClient) -> None:
    member = enrol(client)
    results = [
        client.post("/v1/accruals/flights", json=coupon(member, origin="SIN", destination="JFK")).json()
        for _ in range(3)
    ]
    assert [r["tier_after"] for r in results] == [
        "BLUE",
        "BLUE",
        "SILVER",
    ]  # 9,537 status miles each: 28,611 after three
    assert results[2]["tier_bonus_miles"] == 0
    fourth = client.post("/v1/accruals/flights", json=coupon(member, origin="SIN", destination="JFK")).json()
    assert fourth["tier_bonus_miles"] == fourth["base_miles"] // 4
    summary = client.get(f"/v1/members/{member}").json()
    assert summary["tier"] == "SILVER"
    assert summary["tier_valid_until"] == "2028-02-29"
