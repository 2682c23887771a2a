"""Promotion budgets and per-member limits under concurrency, against a real `miles serve` (two
processes): never exceeded, the remainder paid, nothing lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.api.schemas import FlightAccrualRequest
from miles.bootstrap import Container
from miles.services.accrual_requests import CouponRequest
from miles.services.accruals import accrue_coupons
from miles.services.promotions.earning import PromotionDesk
from tests.integration.conftest import make_key
from tests.integration.factories import coupon, enrol

SCOPES = ["accrual:write", "member:write", "member:read", "promotion:write"]


def _promotion(code: str, limits: dict[str, int]) -> dict[str, Any]:
    return {
        "code": code,
        "name": code,
        "trigger": "flight",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "effect": {"kind": "fixed", "miles": 100},
        "limits": limits,
    }


def _enrol(client: httpx.Client, n: int) -> list[str]:
    numbers = []
    for i in range(n):
        r = client.post(
            "/v1/members", json={"given_name": "P", "family_name": f"P{i}", "email": "p@p.example"}
        )
        numbers.append(r.json()["member_number"])
    return numbers


def test_fifty_concurrent_accruals_against_a_budget_for_seven_bonuses_pay_seven_and_the_remainder(
    live_server: str, container: Container, engine: Engine
) -> None:
    headers = {"Authorization": f"Bearer {make_key(container, SCOPES)}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as client:
        assert (
            client.post("/v1/promotions", json=_promotion("BUDGET-7", {"budget_miles": 730})).status_code
            == 201
        )
        members = _enrol(client, 50)

        def post(number: str) -> httpx.Response:
            with httpx.Client(base_url=live_server, headers=headers, timeout=60) as own:
                return own.post("/v1/accruals/flights", json=coupon(number))

        with ThreadPoolExecutor(50) as pool:
            responses = list(pool.map(post, members))
        assert [r.status_code for r in responses] == [201] * 50, [
            r.text for r in responses if r.status_code != 201
        ][:2]
        bonuses = sorted((r.json()["promotion_miles"] for r in responses), reverse=True)
        figures = client.get("/v1/promotions/BUDGET-7").json()
    assert bonuses[:8] == [100] * 7 + [30]
    assert set(bonuses[8:]) == {0}
    assert (figures["awarded_miles"], figures["budget_left"], figures["bonuses"]) == (730, 0, 8)
    with engine.connect() as c:
        paid = c.execute(
            text("SELECT sum(amount) FROM transfers WHERE code = 'promotion_bonus'")
        ).scalar_one()
    assert paid == 730


def test_concurrent_batches_for_one_member_never_pass_the_per_member_limit(
    live_server: str, container: Container
) -> None:
    headers = {"Authorization": f"Bearer {make_key(container, SCOPES)}"}
    limits = {"per_member_miles": 250, "per_member_times": 10}
    with httpx.Client(base_url=live_server, headers=headers, timeout=60) as client:
        assert client.post("/v1/promotions", json=_promotion("PER-MEMBER", limits)).status_code == 201
        [member] = _enrol(client, 1)
        batches = [{"items": [coupon(member) for _ in range(5)]} for _ in range(6)]

        def post(body: dict[str, Any]) -> httpx.Response:
            with httpx.Client(base_url=live_server, headers=headers, timeout=60) as own:
                return own.post("/v1/accruals/flights/batch", json=body)

        with ThreadPoolExecutor(6) as pool:
            responses = list(pool.map(post, batches))
        results = [item for r in responses for item in r.json()["results"]]
        mine = client.get(f"/v1/members/{member}/promotions").json()["promotions"]
    assert [item["status"] for item in results] == ["created"] * 30
    paid = sorted((item["accrual"]["promotion_miles"] for item in results), reverse=True)
    assert paid[:3] == [100, 100, 50]
    assert set(paid[3:]) == {0}
    assert [(p["code"], p["miles"], p["times"]) for p in mine] == [("PER-MEMBER", 250, 3)]


def test_a_budget_spent_between_the_read_and_the_write_sends_the_accrual_round_again_for_the_remainder(
    client: TestClient, container: Container, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budget is read without a lock; another accrual spends it and commits before this one writes:
    the budget's CHECK refuses the write, nothing of the first attempt stays, and the accrual runs again
    with the budget locked from the start and gets what is left."""
    assert client.post("/v1/promotions", json=_promotion("RACED", {"budget_miles": 150})).status_code == 201
    first, second = enrol(client, "Ra", "One"), enrol(client, "Ra", "Two")
    parsed = FlightAccrualRequest.model_validate(coupon(second))
    meanwhile: list[int] = []
    write = PromotionDesk.write

    def write_after_another(self: PromotionDesk, *args: Any) -> None:
        if not meanwhile:
            meanwhile.append(0)  # the other accrual writes through here too
            [other] = accrue_coupons(container, [CouponRequest(0, parsed.coupon(), parsed.digest())], "api")
            assert other.accrual is not None
            meanwhile[0] = other.accrual.promotion_miles
        write(self, *args)

    monkeypatch.setattr(PromotionDesk, "write", write_after_another)
    answer = client.post("/v1/accruals/flights", json=coupon(first))
    assert answer.status_code == 201, answer.text
    figures = client.get("/v1/promotions/RACED").json()
    assert (meanwhile, answer.json()["promotion_miles"]) == ([100], 50)
    assert (figures["awarded_miles"], figures["budget_left"], figures["bonuses"]) == (150, 0, 2)
    with engine.connect() as c:
        paid = c.execute(
            text(
                "SELECT count(*), sum(amount) FROM transfers WHERE code = 'promotion_bonus' AND promotion_id = "
                "(SELECT id FROM promotions WHERE code = 'RACED')"
            )
        ).one()
    assert tuple(paid) == (2, 150)
