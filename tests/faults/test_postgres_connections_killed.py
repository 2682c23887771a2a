"""PostgreSQL connections killed mid-request (pg_terminate_backend): clients retry the same request and
in the end every coupon has earned exactly once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.conftest import make_key
from tests.integration.factories import coupon

ORIGINS = ["SEA", "SFO", "ORD", "ATL", "BOS", "MIA", "DFW", "DEN"]


def test_accruals_survive_killed_database_connections(
    live_server: str, container: Container, engine: Engine
) -> None:
    key = make_key(container, ["admin"])
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=30) as client:
        numbers = [
            client.post(
                "/v1/members", json={"given_name": "K", "family_name": str(i), "email": "k@k.example"}
            ).json()["member_number"]
            for i in range(4)
        ]
    bodies = [coupon(numbers[i % 4], origin=ORIGINS[i % 8]) for i in range(120)]
    database = engine.url.database
    stop = threading.Event()
    killed = [0]

    def killer() -> None:
        with engine.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT")
            deadline = time.monotonic() + 4  # kill for a few seconds, then let the retries finish
            while not stop.is_set() and time.monotonic() < deadline:
                killed[0] += c.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid() AND application_name <> 'killer' "
                        "AND backend_type = 'client backend' AND state <> 'idle'"
                    ),
                    {"db": database},
                ).scalar_one()
                time.sleep(0.05)

    outcomes: list[int] = []

    def post(body: dict[str, object]) -> httpx.Response:
        with httpx.Client(base_url=live_server, headers=headers, timeout=30) as own:
            for _ in range(400):  # what a booking system does: the same request again until it has an answer
                try:
                    response = own.post("/v1/accruals/flights", json=body)
                except httpx.HTTPError:
                    outcomes.append(0)  # no answer at all: an interruption too
                    continue
                outcomes.append(response.status_code)
                if response.status_code in (200, 201):
                    return response
                assert response.status_code == 503, response.text
                time.sleep(0.05)
        raise AssertionError("no answer after 400 attempts")

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(post, bodies))
    finally:
        stop.set()
        thread.join()
    assert killed[0] > 0
    assert all(code in (0, 200, 201, 503) for code in outcomes)
    # the kills reached the clients: some saw a 503 (or no answer) and sent their coupon again
    assert sum(1 for code in outcomes if code in (0, 503)) > 0, outcomes
    by_member: dict[str, int] = {}
    for response in responses:
        by_member[response.json()["member_number"]] = (
            by_member.get(response.json()["member_number"], 0) + response.json()["award_miles"]
        )
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM accruals")).scalar_one() == len(bodies)
        for number, miles in by_member.items():
            balance = c.execute(
                text("SELECT balance FROM accounts WHERE code = :c"), {"c": f"member:{number}"}
            ).scalar_one()
            assert balance == miles
