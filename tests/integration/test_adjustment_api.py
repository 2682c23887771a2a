"""/v1/adjustments and /v1/claims: the console's goodwill and claim use cases over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.integration.console_helpers import counts, member_balance
from tests.integration.factories import coupon, enrol


def test_goodwill_over_the_api_applies_within_the_limit_and_queues_above_it(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    body = {"member_number": member, "miles": 2000, "reason_code": "birthday", "comment": "happy birthday"}
    applied = client.post("/v1/adjustments", json=body)
    assert applied.status_code == 201
    assert applied.json()["status"] == "APPLIED"
    assert applied.json()["requested_by"] == "api:test"
    waiting = client.post("/v1/adjustments", json=body | {"miles": 8000})
    assert waiting.status_code == 201
    assert waiting.json()["status"] == "PENDING"
    read = client.get(f"/v1/adjustments/{waiting.json()['adjustment_id']}")
    assert read.json() == waiting.json()
    assert member_balance(engine, member) == 2000
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM audit_log WHERE actor = 'api:test'")).scalar_one() == 2


def test_an_idempotency_key_replays_an_adjustment_and_refuses_another_body(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    body = {"member_number": member, "miles": 1000, "reason_code": "delay", "comment": "late"}
    headers = {"Idempotency-Key": "gw-1"}
    first = client.post("/v1/adjustments", json=body, headers=headers)
    again = client.post("/v1/adjustments", json=body, headers=headers)
    other = client.post("/v1/adjustments", json=body | {"miles": 1001}, headers=headers)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json()["adjustment_id"] == first.json()["adjustment_id"]
    assert member_balance(engine, member) == 1000


def test_bad_adjustments_are_422_naming_the_field_and_write_nothing(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    before = counts(engine)
    for body, field in [
        ({"member_number": member, "miles": 0, "reason_code": "delay", "comment": "x"}, "miles"),
        ({"member_number": member, "miles": 10, "reason_code": "bribe", "comment": "x"}, "reason_code"),
        ({"member_number": member, "miles": "10", "reason_code": "delay", "comment": "x"}, "miles"),
        (
            {"member_number": "1000000017", "miles": 10, "reason_code": "delay", "comment": "x"},
            "member_number",
        ),
    ]:
        response = client.post("/v1/adjustments", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["field"] == field
    assert (
        client.post(
            "/v1/adjustments",
            json={"member_number": "1000000990", "miles": 10, "reason_code": "delay", "comment": "x"},
        ).status_code
        == 404
    )
    assert counts(engine) == before


def test_a_claim_over_the_api_earns_once_and_refuses_outside_the_window(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    body = coupon(member, departure_date="2026-11-01") | {"comment": "seen the boarding pass"}
    filed = client.post("/v1/claims", json=body)
    assert filed.status_code == 201, filed.text
    assert filed.json()["award_miles"] == 3451
    assert filed.json()["filed_by"] == "api:test"
    assert filed.json()["status"] == "APPLIED"
    documented = client.get("/openapi.json").json()["components"]["schemas"]["Claim"]["properties"]
    assert set(filed.json()) == set(documented)  # the document names every field the answer has
    before = counts(engine)
    later = {k: v for k, v in body.items() if k != "comment"}
    assert client.post("/v1/accruals/flights", json=later).status_code == 200  # the booking system: a replay
    too_early = client.post("/v1/claims", json=coupon(member, departure_date="2026-11-20"))
    assert too_early.status_code == 422
    assert too_early.json()["error"] | {"message": ""} == {
        "code": "claim_too_early",
        "field": "departure_date",
        "message": "",
    }
    assert counts(engine) == before
    assert member_balance(engine, member) == 3451


def test_an_idempotency_key_replays_a_claim_and_refuses_another_coupon(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    body = coupon(member, departure_date="2026-11-01")
    headers = {"Idempotency-Key": "claim-1"}
    first = client.post("/v1/claims", json=body, headers=headers)
    again = client.post("/v1/claims", json=body | {"comment": "sent twice"}, headers=headers)
    other = client.post("/v1/claims", json=coupon(member, departure_date="2026-11-01"), headers=headers)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json()["claim_id"] == first.json()["claim_id"]
    assert member_balance(engine, member) == 3451
