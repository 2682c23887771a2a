"""Idempotency keys belong to their caller and operation, and a key raced in flight has one effect;
concurrent cancellations of one award write one refund and one audit row; a bug in a supplier call is a
500, never a 503 that invites a retry. Through the app over HTTP, with requests truly in flight together
(the suppliers answer slowly)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.adapters.suppliers.protocol import Suppliers
from miles.api.app import create_app
from miles.bootstrap import Container
from miles.domain.errors import SupplierTimeout
from miles.services.redemptions.saga_runtime import FINISH_CANCEL
from tests.integration.conftest import make_key
from tests.integration.console_helpers import HTMX, console_client, make_agent, signed_in
from tests.integration.factories import enrol
from tests.integration.redemption_helpers import account, flight, grant_miles, redeem, set_supplier, wait_for

SLOW_MS = 400  # each supplier call: long enough for every racing request to be in flight at once


def confirmed(client: TestClient, container: Container, member: str) -> int:
    response = redeem(client, member, flight())
    assert response.status_code == 202, response.text
    container.dispatcher.drain()  # type: ignore[attr-defined]
    redemption_id = int(response.json()["redemption_id"])
    wait_for(client, redemption_id, "CONFIRMED")
    return redemption_id


def together(count: int, call: Callable[[int], Any]) -> list[Any]:
    """`call(0..count-1)` on as many threads, released at the same instant."""
    start = threading.Barrier(count)

    def run(i: int) -> Any:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as c:
        return int(c.execute(text(sql)).scalar_one())


class CountingSupplier:
    """A supplier that counts the cancellations asked of it (and otherwise is the simulated one)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.cancels = 0
        self._lock = threading.Lock()

    def cancel(self, key: str) -> Any:
        with self._lock:
            self.cancels += 1
        return self.inner.cancel(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_one_key_raced_to_cancel_two_awards_cancels_one_and_refuses_the_other(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 60_000)
    awards = [confirmed(client, container, member), confirmed(client, container, member)]
    set_supplier(container, "flights", latency_ms=SLOW_MS)

    answers = together(
        2,
        lambda i: client.post(f"/v1/redemptions/{awards[i]}/cancel", headers={"Idempotency-Key": "same"}),
    )

    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409).json()["error"]
    assert refused["code"] in ("idempotency_key_reused", "idempotency_key_in_flight")
    statuses = sorted(client.get(f"/v1/redemptions/{r}").json()["status"] for r in awards)
    assert statuses == ["CANCELLED", "CONFIRMED"]
    assert count(engine, "SELECT count(*) FROM transfers WHERE code = 'redemption_refund'") == 1
    assert account(engine, member) == (60_000 - 2 * 25_000 + 22_000, 0)


def test_one_key_raced_twice_on_one_cancellation_asks_the_supplier_once(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 30_000)
    redemption_id = confirmed(client, container, member)
    flights = CountingSupplier(container.suppliers.flights)
    container.suppliers = Suppliers(flights, container.suppliers.hotels, container.suppliers.baggage)
    set_supplier(container, "flights", latency_ms=SLOW_MS)

    answers = together(
        2,
        lambda _: client.post(f"/v1/redemptions/{redemption_id}/cancel", headers={"Idempotency-Key": "k"}),
    )

    assert flights.cancels == 1  # the second request never ran the cancellation: one effect
    done = [a for a in answers if a.status_code == 200]
    assert done
    assert all(
        a.json() == {"status": "CANCELLED", "refunded_miles": 22_000, "fee_miles": 3_000} for a in done
    )
    for other in (a for a in answers if a.status_code != 200):
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "idempotency_key_in_flight"
    replay = client.post(f"/v1/redemptions/{redemption_id}/cancel", headers={"Idempotency-Key": "k"})
    assert replay.json() == {"status": "CANCELLED", "refunded_miles": 22_000, "fee_miles": 3_000}
    assert flights.cancels == 1
    assert count(engine, "SELECT count(*) FROM transfers WHERE code = 'redemption_refund'") == 1


def test_the_same_key_from_two_api_keys_makes_two_adjustments(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    other_key = make_key(container, ["adjustment:write", "member:read"])
    body = {"member_number": member, "miles": 1000, "reason_code": "delay", "comment": "late"}
    headers = {"Idempotency-Key": "gw-1"}

    mine = client.post("/v1/adjustments", json=body, headers=headers)
    theirs = client.post(
        "/v1/adjustments", json=body, headers=headers | {"Authorization": f"Bearer {other_key}"}
    )
    mine_again = client.post("/v1/adjustments", json=body, headers=headers)

    assert (mine.status_code, theirs.status_code, mine_again.status_code) == (201, 201, 200)
    assert theirs.json()["adjustment_id"] != mine.json()["adjustment_id"]
    assert mine_again.json() == mine.json()
    assert count(engine, "SELECT count(*) FROM goodwill_adjustments") == 2


def test_the_same_key_from_two_api_keys_enrols_two_members(client: TestClient, container: Container) -> None:
    other_key = make_key(container, ["member:write"])
    body = {"given_name": "Ada", "family_name": "Lovelace", "email": "a@b.example"}
    mine = client.post("/v1/members", json=body, headers={"Idempotency-Key": "enrol"})
    theirs = client.post(
        "/v1/members",
        json=body,
        headers={"Idempotency-Key": "enrol", "Authorization": f"Bearer {other_key}"},
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["member_number"] != theirs.json()["member_number"]


def test_nine_concurrent_cancellations_in_the_console_write_one_refund_and_one_audit_row(
    client: TestClient, container: Container, engine: Engine
) -> None:
    make_agent(container, "rita")
    member = enrol(client)
    grant_miles(container, member, 30_000)
    redemption_id = confirmed(client, container, member)
    set_supplier(container, "flights", latency_ms=SLOW_MS)

    with console_client(container) as console:
        token = signed_in(console, "rita")
        answers = together(
            9,
            lambda _: console.post(
                f"/console/redemptions/{redemption_id}/cancel",
                data={"csrf_token": token, "reason": "trip off"},
                headers=HTMX,
            ),
        )

    assert [a.status_code for a in answers] == [200] * 9, [a.text[:200] for a in answers]
    assert all(re.search(r"22,000 miles returned", a.text) for a in answers)
    assert count(engine, "SELECT count(*) FROM transfers WHERE code = 'redemption_refund'") == 1
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT actor, reason, details FROM audit_log WHERE action = 'redemption.cancelled'")
        ).all()
    assert [(r.actor, r.reason) for r in rows] == [("rita", "trip off")]
    assert rows[0].details == {"miles": 25_000, "refunded_miles": 22_000, "fee_miles": 3_000}
    assert account(engine, member) == (27_000, 0)


class BrokenQuote:
    """A supplier whose quote has a bug."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    def quote(self, item: Any) -> Any:
        raise TypeError("quote() got an unexpected keyword argument")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("path", ["/v1/redemptions", "/v1/awards/quote"])
def test_a_type_error_in_a_supplier_call_is_a_500_not_a_retry(
    container: Container, api_key: str, engine: Engine, path: str
) -> None:
    with TestClient(create_app(container), raise_server_exceptions=False) as http:
        http.headers["Authorization"] = f"Bearer {api_key}"
        member = enrol(http)
        grant_miles(container, member, 30_000)
        s = container.suppliers
        container.suppliers = Suppliers(BrokenQuote(s.flights), s.hotels, s.baggage)
        response: httpx.Response = http.post(
            path,
            json={"member_number": member, "items": [flight()]},
            headers={"Idempotency-Key": "broken"},
        )
    assert response.status_code == 500, response.text
    assert "Retry-After" not in response.headers
    assert count(engine, "SELECT count(*) FROM redemptions") == 0
    assert count(engine, "SELECT count(*) FROM idempotency_keys") == 0


class CancelTimesOutOnce(CountingSupplier):
    """A supplier whose first cancellation gets no answer in time."""

    def cancel(self, key: str) -> Any:
        with self._lock:
            self.cancels += 1
            first = self.cancels == 1
        if first:
            raise SupplierTimeout(f"{self.name}: no answer in time for {key}")
        return self.inner.cancel(key)


def test_a_cancellation_finished_by_the_sweeper_is_audited_once_for_who_asked(
    client: TestClient, container: Container, engine: Engine
) -> None:
    member = enrol(client)
    grant_miles(container, member, 30_000)
    redemption_id = confirmed(client, container, member)
    s = container.suppliers
    container.suppliers = Suppliers(CancelTimesOutOnce(s.flights), s.hotels, s.baggage)

    asked = client.post(f"/v1/redemptions/{redemption_id}/cancel")
    assert asked.status_code == 503, asked.text  # recorded; the sweeper finishes it
    assert count(engine, "SELECT count(*) FROM audit_log WHERE action = 'redemption.cancelled'") == 0
    for _ in range(2):  # the sweeper's job, delivered twice
        assert container.run_job(FINISH_CANCEL, {"redemption_id": redemption_id}) == "CANCELLED"

    with engine.connect() as c:
        rows = c.execute(
            text("SELECT actor, reason FROM audit_log WHERE action = 'redemption.cancelled'")
        ).all()
    assert [(r.actor, r.reason) for r in rows] == [("api:test", "cancelled at the member's request")]
    assert count(engine, "SELECT count(*) FROM transfers WHERE code = 'redemption_refund'") == 1
