"""Concurrent accruals against a real `miles serve` (two processes): nothing lost, nothing doubled."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.conftest import make_key
from tests.integration.factories import coupon

ORIGINS = ["SEA", "SFO", "ORD", "ATL", "BOS", "MIA", "DFW", "DEN", "LAX", "IAD"]


def test_thirty_concurrent_accruals_for_one_member_sum_exactly(
    live_server: str, container: Container, engine: Engine
) -> None:
    headers = {
        "Authorization": f"Bearer {make_key(container, ['accrual:write', 'member:write', 'member:read'])}"
    }
    with httpx.Client(base_url=live_server, headers=headers, timeout=30) as client:
        member = client.post(
            "/v1/members", json={"given_name": "C", "family_name": "C", "email": "c@c.example"}
        )
        number = member.json()["member_number"]
        bodies = [coupon(number, origin=ORIGINS[i % 10], booking_class="YJVKF"[i % 5]) for i in range(30)]

        def post(body: dict[str, object]) -> httpx.Response:
            with httpx.Client(base_url=live_server, headers=headers, timeout=30) as own:
                return own.post("/v1/accruals/flights", json=body)

        with ThreadPoolExecutor(30) as pool:
            responses = list(pool.map(post, bodies))
        assert [r.status_code for r in responses] == [201] * 30
        earned = sum(r.json()["award_miles"] for r in responses)
        summary = client.get(f"/v1/members/{number}").json()
    assert summary["award_miles"] == earned
    assert summary["qualifying"]["segments"] == 30
    balances_after = sorted(r.json()["balance_after"] for r in responses)
    assert balances_after[-1] == earned
    assert len(set(balances_after)) == 30  # each accrual saw the one before it
    with engine.connect() as c:
        entries = c.execute(
            text(
                "SELECT sum(e.amount) FROM entries e JOIN accounts a ON a.id = e.account_id WHERE a.code = :c"
            ),
            {"c": f"member:{number}"},
        ).scalar_one()
    assert entries == earned


def test_the_same_coupon_sent_concurrently_earns_once(live_server: str, container: Container) -> None:
    headers = {
        "Authorization": f"Bearer {make_key(container, ['accrual:write', 'member:write', 'member:read'])}"
    }
    with httpx.Client(base_url=live_server, headers=headers, timeout=30) as client:
        number = client.post(
            "/v1/members", json={"given_name": "D", "family_name": "D", "email": "d@d.example"}
        ).json()["member_number"]
        body = coupon(number)

        def post(_: int) -> httpx.Response:
            with httpx.Client(base_url=live_server, headers=headers, timeout=30) as own:
                return own.post("/v1/accruals/flights", json=body)

        with ThreadPoolExecutor(20) as pool:
            responses = list(pool.map(post, range(20)))
        assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
        assert len({r.json()["accrual_id"] for r in responses}) == 1
        assert client.get(f"/v1/members/{number}").json()["award_miles"] == 3451
