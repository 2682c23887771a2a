"""Without a broker (`miles serve` on the in-process dispatcher, the embedded default), the server runs the
periodic jobs `miles beat` would send: a redemption whose supplier did not answer is asked again by itself
and confirms, with no sweep run by hand."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.conftest import make_key, served
from tests.integration.redemption_helpers import flight, grant_miles, set_supplier, wait_for


def test_a_redemption_whose_supplier_did_not_answer_is_asked_again_and_confirms_by_itself(
    database_url: str, container: Container, engine: Engine
) -> None:
    set_supplier(container, "flights", unknown_outcome_rate=1.0)
    with served(database_url, MILES_REDEMPTION_RETRY_SECONDS="2") as base:
        key = make_key(container, ["redemption:write", "member:read", "member:write"])
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            member = client.post(
                "/v1/members", json={"given_name": "S", "family_name": "Silent", "email": "s@s.example"}
            ).json()["member_number"]
            grant_miles(container, member, 30_000)
            answer = client.post(
                "/v1/redemptions",
                json={"member_number": member, "items": [flight()]},
                headers={"Idempotency-Key": "k1"},
            )
            assert answer.status_code == 202, answer.text
            redemption = answer.json()["redemption_id"]
            deadline = time.monotonic() + 30
            while True:  # the supplier's silence is noted, the redemption stays pending
                body = client.get(f"/v1/redemptions/{redemption}").json()
                if any("did not answer" in (h.get("reason") or "") for h in body["history"]):
                    break
                assert time.monotonic() < deadline, body
                time.sleep(0.2)
            assert body["status"] == "PENDING"
            set_supplier(container, "flights", unknown_outcome_rate=0.0)
            done = wait_for(client, redemption, "CONFIRMED", timeout=60)
            assert done["items"][0]["booking_reference"]
        with engine.connect() as c:
            holds = c.execute(
                text("SELECT status FROM holds WHERE redemption_id = :r"), {"r": redemption}
            ).scalars()
            assert list(holds) == ["POSTED"]
