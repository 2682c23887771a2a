"""Reversals (refund, exchange): award and status miles go back once; replays answer the same."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.integration.factories import coupon, enrol, row_counts


def test_a_reversal_restores_the_balance_and_the_status_totals(client: TestClient) -> None:
    member = enrol(client)
    kept = client.post("/v1/accruals/flights", json=coupon(member, booking_class="J")).json()
    refunded = client.post("/v1/accruals/flights", json=coupon(member)).json()
    response = client.post(f"/v1/accruals/{refunded['accrual_id']}/reversal", json={"reason": "refund"})
    assert response.status_code == 201
    assert response.json()["reversed_award_miles"] == 3451
    assert response.json()["balance_after"] == kept["award_miles"]
    summary = client.get(f"/v1/members/{member}").json()
    assert summary["award_miles"] == kept["award_miles"]
    assert summary["qualifying"]["status_miles"] == kept["status_miles"]
    assert summary["qualifying"]["segments"] == 1
    assert summary["lifetime_status_miles"] == kept["status_miles"]


def test_a_reversal_replayed_answers_the_same_and_a_different_reason_conflicts(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    accrual = client.post("/v1/accruals/flights", json=coupon(member)).json()
    path = f"/v1/accruals/{accrual['accrual_id']}/reversal"
    first = client.post(path, json={"reason": "refund"})
    before = row_counts(engine)
    again = client.post(path, json={"reason": "refund"})
    other = client.post(path, json={"reason": "exchange"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json() == first.json()
    assert row_counts(engine) == before


def test_reversing_spent_miles_records_a_debt(client: TestClient, engine: Engine) -> None:
    from sqlalchemy import text

    member = enrol(client)
    accrual = client.post("/v1/accruals/flights", json=coupon(member)).json()
    with engine.begin() as c:  # the member spends the miles (a redemption, as the ledger records it)
        member_account, clearing = (
            c.execute(text("SELECT id FROM accounts WHERE code = :c AND shard = 0"), {"c": code}).scalar_one()
            for code in (f"member:{member}", "redemption-clearing")
        )
        transfer = c.execute(
            text(
                "INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at) "
                "VALUES (:f, :t, 3000, 'redemption', now()) RETURNING id"
            ),
            {"f": member_account, "t": clearing},
        ).scalar_one()
        c.execute(
            text(
                "INSERT INTO entries (transfer_id, account_id, amount) VALUES (:x, :f, -3000), (:x, :t, 3000)"
            ),
            {"x": transfer, "f": member_account, "t": clearing},
        )
        c.execute(text("UPDATE accounts SET balance = balance - 3000 WHERE id = :f"), {"f": member_account})
        c.execute(text("UPDATE accounts SET balance = balance + 3000 WHERE id = :t"), {"t": clearing})
        lot = c.execute(text("SELECT id FROM lots")).scalar_one()
        c.execute(text("UPDATE lots SET remaining = remaining - 3000 WHERE id = :l"), {"l": lot})
        c.execute(
            text("INSERT INTO lot_draws (lot_id, transfer_id, amount) VALUES (:l, :x, 3000)"),
            {"l": lot, "x": transfer},
        )
    response = client.post(f"/v1/accruals/{accrual['accrual_id']}/reversal", json={"reason": "refund"})
    assert response.status_code == 201
    assert response.json()["balance_after"] == 451 - 3451
    assert client.get(f"/v1/members/{member}").json()["available_miles"] == -3000


def test_reversing_an_unknown_accrual_is_404(client: TestClient) -> None:
    response = client.post("/v1/accruals/999999/reversal", json={"reason": "refund"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "accrual_not_found"


def test_a_reversal_without_a_reason_is_422(client: TestClient) -> None:
    member = enrol(client)
    accrual = client.post("/v1/accruals/flights", json=coupon(member)).json()
    response = client.post(f"/v1/accruals/{accrual['accrual_id']}/reversal", json={"reason": ""})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reason"
