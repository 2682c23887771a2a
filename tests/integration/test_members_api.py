"""Members: enrolment, the summary, the statement with paging."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from miles.domain.member_numbers import validate_member_number
from tests.integration.factories import coupon, enrol, row_counts


def test_a_new_member_gets_a_luhn_checked_number_and_starts_blue(client: TestClient) -> None:
    response = client.post(
        "/v1/members",
        json={
            "given_name": "Grace",
            "family_name": "Hopper",
            "email": "grace@example.com",
            "birth_date": "1906-12-09",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert validate_member_number(body["member_number"])
    assert body["tier"] == "BLUE"
    assert body["available_miles"] == 0
    assert client.get(f"/v1/members/{body['member_number']}").json()["given_name"] == "Grace"


def test_enrolment_with_an_idempotency_key_happens_once(client: TestClient, engine: Engine) -> None:
    body = {"given_name": "Alan", "family_name": "Turing", "email": "alan@example.com"}
    first = client.post("/v1/members", json=body, headers={"Idempotency-Key": "enrol-1"})
    before = row_counts(engine)
    again = client.post("/v1/members", json=body, headers={"Idempotency-Key": "enrol-1"})
    other = client.post(
        "/v1/members", json=body | {"given_name": "Al"}, headers={"Idempotency-Key": "enrol-1"}
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json() == first.json()
    assert row_counts(engine) == before


def test_bad_enrolments_are_422_and_write_nothing(client: TestClient, engine: Engine) -> None:
    before = row_counts(engine)
    for body, field in [
        ({"given_name": "", "family_name": "B", "email": "a@b.example"}, "given_name"),
        ({"given_name": "A", "family_name": "B", "email": "not-an-email"}, "email"),
        (
            {"given_name": "A", "family_name": "B", "email": "a@b.example", "birth_date": "2030-01-01"},
            "birth_date",
        ),
        ({"given_name": "A", "family_name": "B", "email": "a@b.example", "vip": True}, "vip"),
    ]:
        response = client.post("/v1/members", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["field"] == field
    assert row_counts(engine) == before


def test_a_mistyped_member_number_is_422_and_an_unknown_one_404(client: TestClient) -> None:
    assert client.get("/v1/members/1000000018").json()["error"]["code"] == "invalid_member_number"
    assert client.get("/v1/members/1000000990").status_code == 404


def test_statement_pages_return_each_transfer_exactly_once_newest_first(client: TestClient) -> None:
    member = enrol(client)
    origins = ["SEA", "SFO", "ORD", "ATL", "BOS", "MIA", "DFW", "DEN", "LAX", "IAD", "PHL"]
    ids = [
        client.post("/v1/accruals/flights", json=coupon(member, origin=o)).json()["accrual_id"]
        for o in origins
    ]
    reversed_id = ids[3]
    client.post(f"/v1/accruals/{reversed_id}/reversal", json={"reason": "exchange"})
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/v1/members/{member}/statement", params=params).json()
        seen.extend(page["transfers"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    transfer_ids = [t["transfer_id"] for t in seen]
    assert len(transfer_ids) == len(set(transfer_ids)) == len(origins) + 1
    assert transfer_ids == sorted(transfer_ids, reverse=True)
    assert pages == 3
    assert seen[0]["code"] == "flight_accrual_reversal"
    assert seen[0]["miles"] < 0
    assert sum(t["miles"] for t in seen) == client.get(f"/v1/members/{member}").json()["award_miles"]


def test_statement_filters_by_event_date(client: TestClient) -> None:
    member = enrol(client)
    for day in ("2026-09-01", "2026-10-01", "2026-11-01"):
        client.post("/v1/accruals/flights", json=coupon(member, departure_date=day))
    page = client.get(
        f"/v1/members/{member}/statement", params={"from": "2026-09-15", "to": "2026-10-31"}
    ).json()
    assert [t["event_at"][:10] for t in page["transfers"]] == ["2026-10-01"]


def test_a_forged_cursor_is_422(client: TestClient) -> None:
    member = enrol(client)
    response = client.get(f"/v1/members/{member}/statement", params={"cursor": "garbage!"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cursor"
