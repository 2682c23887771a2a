"""A commit whose reply is lost, then retried with the same request: earned once, answered the same."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.faults.proxy import ReplyLosingProxy
from tests.integration.conftest import make_key
from tests.integration.factories import coupon


def test_an_accrual_whose_reply_was_lost_is_retried_and_earns_once(
    live_server: str, container: Container, engine: Engine
) -> None:
    key = make_key(container, ["admin"])
    port = int(live_server.rsplit(":", 1)[1])
    proxy = ReplyLosingProxy(port)
    headers = {"Authorization": f"Bearer {key}", "Connection": "close"}
    base = f"http://127.0.0.1:{proxy.port}"
    number = httpx.post(
        f"{base}/v1/members",
        json={"given_name": "L", "family_name": "R", "email": "l@r.example"},
        headers=headers,
    ).json()["member_number"]
    body = coupon(number)
    proxy.lose_next_reply = True
    with pytest.raises(httpx.HTTPError):
        httpx.post(f"{base}/v1/accruals/flights", json=body, headers=headers, timeout=10)
    assert proxy.replies_lost == 1
    retry = httpx.post(f"{base}/v1/accruals/flights", json=body, headers=headers, timeout=10)
    assert retry.status_code == 200  # a replay: the first attempt had committed
    assert retry.json()["award_miles"] == 3451
    with engine.connect() as c:
        accruals = c.execute(text("SELECT count(*) FROM accruals")).scalar_one()
        balance = c.execute(
            text("SELECT balance FROM accounts WHERE code = :c"), {"c": f"member:{number}"}
        ).scalar_one()
    assert (accruals, balance) == (1, 3451)
    proxy.close()
