"""Schemathesis against /openapi.json of a real `miles serve`: no 5xx for any input, and every refused
request leaves the database exactly as it was (row counts of every table)."""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.conftest import make_key

# examples per operation and mode: 40 in CI; a longer campaign with MILES_FUZZ_EXAMPLES=500
EXAMPLES = int(os.environ.get("MILES_FUZZ_EXAMPLES", "40"))


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        tables = (
            c.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        return {t: int(c.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in tables}


def _operations() -> list[str]:
    """The operations, read from the app itself (the test runs them against a real server)."""
    from miles.api.app import create_app
    from miles.bootstrap import build_container

    spec = create_app(build_container("postgresql://unused@127.0.0.1:1/x")).openapi()
    return sorted(f"{m.upper()} {p}" for p, ms in spec["paths"].items() for m in ms)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("label", _operations())
def test_no_input_gets_a_5xx_and_refusals_write_nothing(
    label: str, mode: GenerationMode, live_server: str, container: Container, engine: Engine
) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    [operation] = [r.ok() for r in schema.get_all_operations() if r.ok().label == label]
    key = make_key(container, ["admin"])
    seen: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        before = _counts(engine)
        headers = dict(case.headers or {}) | {"Authorization": f"Bearer {key}"}
        response = case.call(base_url=live_server, headers=headers)
        seen.append(response.status_code)
        assert response.status_code < 500, (label, response.status_code, response.text, case.body)
        if response.status_code >= 400:
            after = _counts(engine)
            assert after == before, (label, response.status_code, case.body)
            body = response.json()
            assert set(body) == {"error"}
            assert {"code", "message"} <= set(body["error"])

    check()
    assert seen


def test_the_fuzzer_reaches_every_operation(live_server: str) -> None:
    spec = httpx.get(f"{live_server}/openapi.json").json()
    operations = {(m.upper(), p) for p, ms in spec["paths"].items() for m in ms}
    assert ("POST", "/v1/accruals/flights/batch") in operations
    assert len(operations) >= 9
