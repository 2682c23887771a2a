"""Every idle pooled connection killed, as a database restart does: a process answers at most one request
with a 503 (its pool is then renewed), and a client that retries gets its answer, earned once."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.conftest import make_key
from tests.integration.factories import coupon


def _kill_idle(engine: Engine) -> int:
    with engine.connect() as c:
        return int(
            c.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :db "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state = 'idle'"
                ),
                {"db": engine.url.database},
            ).scalar_one()
        )


def test_a_pool_of_dead_connections_costs_at_most_one_503_per_process(
    live_server: str, container: Container, engine: Engine
) -> None:
    key = make_key(container, ["admin"])
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        member = client.post(
            "/v1/members", json={"given_name": "I", "family_name": "Dle", "email": "i@d.example"}
        ).json()["member_number"]
        for _ in range(8):  # every server process has pooled connections now
            assert client.get(f"/v1/members/{member}").status_code == 200
        assert _kill_idle(engine) > 0
        statuses = []
        body = coupon(member)
        for _ in range(10):
            response = client.post("/v1/accruals/flights", json=body)
            statuses.append(response.status_code)
            if response.status_code in (200, 201):
                break
        assert statuses[-1] in (200, 201), statuses
        assert statuses.count(503) <= 2, statuses  # `miles serve --workers 2`: one per process at most
        assert set(statuses) <= {201, 200, 503}, statuses
        for _ in range(8):
            assert client.get(f"/v1/members/{member}").status_code == 200
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM accruals")).scalar_one() == 1
