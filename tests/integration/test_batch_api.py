"""The batch endpoint: per-item results; one bad item never blocks the others."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.integration.factories import coupon, enrol, row_counts


def test_each_item_gets_its_own_result_and_bad_items_block_nothing(client: TestClient) -> None:
    member = enrol(client)
    recorded = coupon(member)
    assert client.post("/v1/accruals/flights", json=recorded).status_code == 201
    items = [
        coupon(member),
        coupon(member, origin="QQQ"),
        recorded,
        recorded | {"booking_class": "J"},
        coupon(member, seat="1A"),
        coupon("1000000990"),
        coupon(member, booking_class="J"),
    ]
    response = client.post("/v1/accruals/flights/batch", json={"items": items})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [r["status"] for r in results] == [
        "created",
        "rejected",
        "replayed",
        "conflict",
        "rejected",
        "rejected",
        "created",
    ]
    assert results[1]["error"]["field"] == "origin"
    assert results[4]["error"]["field"] == "seat"
    assert results[5]["error"]["code"] == "member_not_found"
    assert results[6]["accrual"]["balance_after"] == 3451 * 2 + 4313
    assert client.get(f"/v1/members/{member}").json()["award_miles"] == 3451 * 2 + 4313


def test_a_coupon_twice_in_one_batch_earns_once(client: TestClient) -> None:
    member = enrol(client)
    item = coupon(member)
    response = client.post(
        "/v1/accruals/flights/batch", json={"items": [item, item, item | {"booking_class": "B"}]}
    )
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["created", "replayed", "conflict"]
    assert response.json()["results"][1]["accrual"] == response.json()["results"][0]["accrual"]
    assert client.get(f"/v1/members/{member}").json()["award_miles"] == 3451


def test_a_batch_replayed_whole_changes_nothing(client: TestClient, engine: Engine) -> None:
    member = enrol(client)
    items = [coupon(member, origin=o) for o in ("SEA", "SFO", "ORD", "ATL", "BOS")]
    first = client.post("/v1/accruals/flights/batch", json={"items": items}).json()["results"]
    before = row_counts(engine)
    again = client.post("/v1/accruals/flights/batch", json={"items": items}).json()["results"]
    assert {r["status"] for r in again} == {"replayed"}
    assert [r["accrual"] for r in again] == [r["accrual"] for r in first]
    assert row_counts(engine) == before


def test_earning_in_a_batch_follows_request_order_across_a_threshold(client: TestClient) -> None:
    member = enrol(client)
    items = [coupon(member, origin="SIN") for _ in range(4)]  # SIN-LHR, 6,765 status miles each
    results = client.post("/v1/accruals/flights/batch", json={"items": items}).json()["results"]
    assert [r["accrual"]["tier_after"] for r in results] == ["BLUE", "BLUE", "BLUE", "SILVER"]
    assert [r["accrual"]["tier_bonus_miles"] for r in results] == [0, 0, 0, 0]


def test_more_than_10000_items_is_422_and_writes_nothing(client: TestClient, engine: Engine) -> None:
    member = enrol(client)
    before = row_counts(engine)
    item = coupon(member)
    response = client.post("/v1/accruals/flights/batch", json={"items": [item] * 10_001})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "items"
    assert row_counts(engine) == before


def test_an_empty_batch_is_422(client: TestClient) -> None:
    response = client.post("/v1/accruals/flights/batch", json={"items": []})
    assert response.status_code == 422
