"""Schemathesis against /openapi.json of a real `miles serve`: no 5xx for any input, every answer conforms
to the document (status, content type, body schema), the error body is always `{"error": ...}` JSON, and
every refused request leaves the database exactly as it was (row counts of every table).

Three modes per operation: valid and invalid data generated from the schema, and hostile data (a valid
request with one field replaced by what broke the server before: NUL and other control characters, long
and odd Unicode, the calendar's extreme dates, numbers at and past the column limits, forged ids and
cursors). CI runs EXAMPLES cases per operation and mode; a longer campaign sets MILES_FUZZ_EXAMPLES."""

from __future__ import annotations

import base64
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.conftest import make_key

# cases per operation and mode: 25 in CI (1,053 requests: 14 operations x 3 modes x 25, and one each
# for health, readiness and metrics); a longer campaign, MILES_FUZZ_EXAMPLES=150, sent 6,303 (16 min)
EXAMPLES = int(os.environ.get("MILES_FUZZ_EXAMPLES", "25"))
REPO = Path(__file__).resolve().parents[2]

CONTROL = ["\x00", "a\x00b", "\x01", "\x08", "\x1b[31mred", "\x7f", "\x80", "\x85", "\x9f", "\r\n", "\t"]
ODD_UNICODE = [
    "\u202eevil",  # right-to-left override
    "\ufeffbom",
    "\u2028",
    "e\u0301" * 300,  # combining marks
    "\U0001f600" * 120,
    "\uffff",
    "\U0010ffff",
    "\u0000" * 3,
    "x" * 70_000,
    "ü" * 1000,
    "",
    " ",
]
DATES = ["0001-01-01", "1949-12-31", "1950-01-01", "9999-12-31", "2026-02-29", "0000-01-01", "10000-01-01"]
NUMBERS: list[Any] = [
    0,
    -1,
    2**15,
    2**31 - 1,
    2**31,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    10**20,
    10**400,
    999_999_999_999.99,
    1e308,
    -0.0,
]
MONEY = ["999999999999.99", "1000000000000.00", "0.001", "-0.01", "1e400", "NaN", "Infinity"]


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


CURSORS = [
    _cursor(f"t:{10**20}"),
    _cursor(f"t:{2**63}"),
    _cursor("t:-1"),
    _cursor("t:0"),
    _cursor("x:1"),
    _cursor("t:\x00"),
    "!!!",
    "====",
    "%00",
]
IDS = ["99999999999999999999", str(2**63), str(2**63 - 1), "0", "-1", "1e3", "0x10", "1.5"]
HOSTILE = st.sampled_from([*CONTROL, *ODD_UNICODE, *DATES, *NUMBERS, *MONEY, *CURSORS, None, True, [], {}])


URL_ROOM = (
    8_000  # the longest hostile text sent in a URL (the HTTP server refuses a request line over ~64 KB)
)

# what an absent query parameter is like, so that it gets hostile values of its kind
QUERY_EXAMPLES: dict[str, Any] = {"from": "2026-01-01", "to": "2026-01-01", "limit": 50}


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


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position in a JSON body: the leaves and the containers themselves."""
    if path:
        yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replace(copy[head], tuple(rest), new)
    return copy


def _hostile_value(draw: st.DrawFn, old: Any, where: str) -> Any:
    """What broke the server before, chosen to suit the field: text gets control characters and odd
    Unicode, dates the calendar's extremes, numbers the column limits, ids and cursors forgeries."""
    if where == "path":
        return draw(st.sampled_from([*IDS, *DATES, *[c for c in CONTROL if c not in ("\r\n",)]]))
    if where == "cursor":
        return draw(st.sampled_from(CURSORS + CONTROL))
    if where == "query":  # a URL over the HTTP server's limit never reaches the app: its own test below
        value = _hostile_value(draw, old, "body")
        return value if not isinstance(value, str) or len(value) <= URL_ROOM else value[:URL_ROOM]
    if isinstance(old, bool) or old is None:
        return draw(HOSTILE)
    if isinstance(old, int | float):
        return draw(st.sampled_from(NUMBERS + MONEY))
    if isinstance(old, str) and len(old) == 10 and old[4:5] == "-":
        return draw(st.sampled_from(DATES + CONTROL))
    if isinstance(old, str):
        return draw(st.sampled_from(CONTROL + ODD_UNICODE + [old + c for c in CONTROL]))
    return draw(HOSTILE)


@st.composite
def _hostile_case(draw: st.DrawFn, operation: Any, known: dict[str, str]) -> schemathesis.Case:
    case: schemathesis.Case = draw(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    # most of the time on a member and an accrual that exist, so that the request gets past the lookup
    # to where the hostile value is used (a statement's dates, a cursor, a reversal's reason)
    for name, value in known.items():
        if name in (case.path_parameters or {}) and draw(st.booleans()):
            case.path_parameters = {**(case.path_parameters or {}), name: value}
        if isinstance(case.body, dict) and name in case.body and draw(st.booleans()):
            case.body = {**case.body, name: value}
    places: list[tuple[str, Any]] = []
    if isinstance(case.body, dict | list):
        places += [("body", p) for p in _leaves(case.body)]
    # every query parameter, sent or not (the positive case often leaves the optional ones out)
    places += [("query", p.name) for p in operation.query]
    places += [("path", k) for k in (case.path_parameters or {})]
    if not places:
        return case
    where, key = draw(st.sampled_from(places))
    if where == "body":
        old: Any = case.body
        for step in key:
            old = old[step]
        case.body = _replace(case.body, key, _hostile_value(draw, old, "body"))
    elif where == "query":
        case.query = dict(case.query or {})
        kind = "cursor" if key == "cursor" else "query"
        old = case.query.get(key, QUERY_EXAMPLES.get(key))
        value = _hostile_value(draw, old, kind)
        case.query[key] = value if isinstance(value, str) else str(value)
    else:
        assert case.path_parameters is not None
        case.path_parameters[key] = _hostile_value(draw, case.path_parameters[key], "path")
    return case


def _known(base: str, key: str) -> dict[str, str]:
    """A member with one accrual, made through the API: ids the hostile cases use."""
    headers = {"Authorization": f"Bearer {key}"}
    member = httpx.post(
        f"{base}/v1/members",
        json={"given_name": "Fuzz", "family_name": "Target", "email": "fuzz@example.org"},
        headers=headers,
        timeout=30,
    ).json()["member_number"]
    coupon = {
        "member_number": member,
        "ticket_number": f"0019{uuid.uuid4().int % 10**9:09d}",
        "coupon_number": 1,
        "marketing_carrier": "YY",
        "operating_carrier": "YY",
        "flight_number": "123",
        "origin": "JFK",
        "destination": "LHR",
        "departure_date": "2026-10-01",
        "booking_class": "Y",
    }
    accrual = httpx.post(f"{base}/v1/accruals/flights", json=coupon, headers=headers, timeout=30).json()
    return {"member_number": member, "accrual_id": str(accrual["accrual_id"])}


@pytest.fixture
def outside_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Schemathesis keeps its files under ./.schemathesis: run it from a temporary folder."""
    monkeypatch.chdir(tmp_path)
    yield
    assert not (REPO / ".schemathesis").exists()


NO_INPUT = ("GET /healthz", "GET /readyz", "GET /metrics")  # nothing to make invalid or hostile: valid only


@pytest.mark.parametrize(
    ("label", "mode"),
    [
        (label, mode)
        for label in _operations()
        for mode in ("valid", "invalid", "hostile")
        if mode == "valid" or label not in NO_INPUT
    ],
)
def test_no_input_gets_a_5xx_every_answer_conforms_and_refusals_write_nothing(
    label: str, mode: str, live_server: str, container: Container, engine: Engine, outside_the_checkout: None
) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    [operation] = [r.ok() for r in schema.get_all_operations() if r.ok().label == label]
    key = make_key(container, ["admin"])
    seen: list[int] = []
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    if mode == "invalid":
        strategy = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
        if label != "POST /v1/accruals/flights/batch":  # a bad item is that item's `rejected`, by design
            checks.append(negative_data_rejection)
    elif mode == "valid":
        strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    else:
        strategy = _hostile_case(operation, _known(live_server, key))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        before = _counts(engine)
        headers = dict(case.headers or {}) | {"Authorization": f"Bearer {key}"}
        response = case.call(base_url=live_server, headers=headers, timeout=30)
        seen.append(response.status_code)
        assert response.status_code < 500, (label, response.status_code, response.text[:500], case.body)
        case.validate_response(response, checks=checks, headers=headers)
        if response.status_code >= 400:
            content_type = response.headers.get("content-type") or [""]
            assert content_type[0].startswith("application/json"), response.text[:200]
            after = _counts(engine)
            assert after == before, (label, response.status_code, case.body)
            body = response.json()
            assert set(body) == {"error"}
            assert {"code", "message"} <= set(body["error"])

    check()
    assert seen
    print(f"fuzzed {label} ({mode}): {len(seen)} cases, statuses {sorted(set(seen))}")  # shown with -s


def test_the_fuzzer_reaches_every_operation(live_server: str) -> None:
    spec = httpx.get(f"{live_server}/openapi.json").json()
    operations = {(m.upper(), p) for p, ms in spec["paths"].items() for m in ms}
    assert ("POST", "/v1/accruals/flights/batch") in operations
    assert len(operations) == len(_operations()) >= 17


def test_a_url_over_the_http_servers_limit_is_refused_and_the_server_serves_on(live_server: str) -> None:
    """A request line of 70 KB is refused by the HTTP server itself (400) before any route sees it; the next
    request is served as usual."""
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as raw:  # httpx will not build such a URL
        raw.sendall(f"GET /v1/analytics/lost?from={'x' * 70_000} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        status_line = raw.recv(200).split(b"\r\n")[0]
    assert status_line.split()[1] == b"400", status_line
    assert httpx.get(f"{live_server}/healthz", timeout=30).status_code == 200
