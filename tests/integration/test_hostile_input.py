"""Issue 10 item 4 (text, numbers, dates, cursors) and item 10's `[1,2]` body, through a real `miles serve`
and the console over HTTP: control characters in any text, ids and cursors past bigint, a statement to
9999-12-31 never get a 5xx; each is a 422 naming the field in the JSON error body (an HTML page in the
console), and nothing is written."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from miles.api.app import create_app
from miles.bootstrap import Container
from tests.integration.conftest import make_key
from tests.integration.console_helpers import HTMX, console_client, counts, make_agent, signed_in
from tests.integration.factories import coupon, row_counts

BIG = "99999999999999999999"  # 20 digits: past bigint
PAST_BIGINT = str(2**63)
CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f"]


@pytest.fixture
def api(live_server: str, container: Container) -> Iterator[httpx.Client]:
    key = make_key(container, ["admin"])
    with httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        yield c


def _member(api: httpx.Client) -> str:
    response = api.post(
        "/v1/members", json={"given_name": "Ada", "family_name": "Lovelace", "email": "a@b.ex"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["member_number"])


def _refused(response: httpx.Response, field: str) -> dict[str, str]:
    assert response.status_code == 422, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, str] = response.json()["error"]
    assert error["field"] == field, error
    return error


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
@pytest.mark.parametrize("field", ["given_name", "family_name", "email"])
def test_a_member_with_a_control_character_in_a_field_is_a_422_naming_it(
    api: httpx.Client, engine: Engine, field: str, char: str
) -> None:
    body = {"given_name": "Ada", "family_name": "Lovelace", "email": "a@b.example"}
    body[field] = f"Ad{char}a@x"
    before = row_counts(engine)
    error = _refused(api.post("/v1/members", json=body), field)
    assert "control character" in error["message"]
    assert row_counts(engine) == before


def test_a_nul_in_a_reversal_reason_or_an_adjustment_or_claim_comment_is_a_422(
    api: httpx.Client, engine: Engine
) -> None:
    member = _member(api)
    accrual = api.post("/v1/accruals/flights", json=coupon(member))
    assert accrual.status_code == 201, accrual.text
    before = row_counts(engine)
    accrual_id = accrual.json()["accrual_id"]
    _refused(api.post(f"/v1/accruals/{accrual_id}/reversal", json={"reason": "refund\x00"}), "reason")
    goodwill = {"member_number": member, "miles": 100, "reason_code": "delay", "comment": "late\x00"}
    _refused(api.post("/v1/adjustments", json=goodwill), "comment")
    claim = coupon(member, departure_date="2026-10-01") | {"comment": "lost \x00 boarding pass"}
    _refused(api.post("/v1/claims", json=claim), "comment")
    assert row_counts(engine) == before


def test_a_multi_line_comment_keeps_its_lines_but_not_other_controls(api: httpx.Client) -> None:
    member = _member(api)
    body = {"member_number": member, "miles": 100, "reason_code": "delay", "comment": "late\n\tby 3 h"}
    assert api.post("/v1/adjustments", json=body).status_code == 201
    _refused(api.post("/v1/adjustments", json=body | {"comment": "late\x0b by 3 h"}), "comment")


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/accruals/{BIG}/reversal",
        f"/v1/accruals/{PAST_BIGINT}/reversal",
        "/v1/accruals/0/reversal",
    ],
)
def test_an_accrual_id_past_bigint_is_a_422_naming_it(api: httpx.Client, path: str) -> None:
    _refused(api.post(path, json={"reason": "refund"}), "accrual_id")


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", f"/v1/redemptions/{BIG}", "redemption_id"),
        ("POST", f"/v1/redemptions/{PAST_BIGINT}/cancel", "redemption_id"),
        ("GET", f"/v1/adjustments/{BIG}", "adjustment_id"),
    ],
)
def test_ids_past_bigint_in_paths_are_a_422(api: httpx.Client, method: str, path: str, field: str) -> None:
    _refused(api.request(method, path), field)


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [_cursor(f"t:{BIG}"), _cursor(f"t:{PAST_BIGINT}"), _cursor("t:-1"), _cursor("t: 12")],
)
def test_a_forged_cursor_is_a_422_naming_the_cursor(api: httpx.Client, cursor: str) -> None:
    member = _member(api)
    _refused(api.get(f"/v1/members/{member}/statement", params={"cursor": cursor}), "cursor")


def test_a_statement_to_the_end_of_the_calendar_is_answered(api: httpx.Client) -> None:
    member = _member(api)
    api.post("/v1/accruals/flights", json=coupon(member)).raise_for_status()
    for bounds in ({"to": "9999-12-31"}, {"from": "0001-01-01", "to": "9999-12-31"}, {"from": "9999-12-31"}):
        response = api.get(f"/v1/members/{member}/statement", params=bounds)
        assert response.status_code == 200, (bounds, response.text)
    whole = api.get(f"/v1/members/{member}/statement", params={"from": "0001-01-01", "to": "9999-12-31"})
    assert len(whole.json()["transfers"]) == 1


@pytest.mark.parametrize("body", [b"[1,2]", b'"member"', b"12", b"null", b""])
def test_a_body_that_is_not_an_object_says_so(api: httpx.Client, body: bytes) -> None:
    response = api.post("/v1/members", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"] == "the body must be a JSON object"
    assert response.json()["error"]["code"] == "not_an_object"


# --- the console --------------------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x1f", "\x7f", "\x9b"])
def test_console_search_and_audit_filters_with_control_characters_are_a_422_page(
    container: Container, char: str
) -> None:
    make_agent(container, "sid", role="supervisor")
    with console_client(container) as console:
        signed_in(console, "sid")
        for path, params in [
            ("/console/members", {"q": f"Love{char}lace"}),
            ("/console/members", {"q": f"Love{char}"}),
            ("/console/audit", {"actor": f"amy{char}"}),
            ("/console/audit", {"action": char}),
            ("/console/audit", {"member": f"1{char}"}),
        ]:
            for headers in ({}, HTMX):
                page = console.get(path, params=params, headers=headers)
                assert page.status_code == 422, (path, params, page.status_code)
                assert "control character" in page.text
                assert page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("before", [BIG, PAST_BIGINT, "-3", "1e5", "0"])
def test_console_audit_before_past_bigint_is_a_422_page(container: Container, before: str) -> None:
    make_agent(container, "sid", role="supervisor")
    with console_client(container) as console:
        signed_in(console, "sid")
        page = console.get("/console/audit", params={"before": before})
        assert page.status_code == 422, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert console.get("/console/audit", params={"before": "12"}).status_code == 200


def test_console_statement_cursor_past_bigint_is_not_a_5xx(api: httpx.Client, container: Container) -> None:
    member = _member(api)
    make_agent(container, "amy")
    with console_client(container) as console:
        signed_in(console, "amy")
        for cursor in (_cursor(f"t:{BIG}"), "\x00"):
            page = console.get(
                f"/console/members/{member}/statement", params={"cursor": cursor}, headers=HTMX
            )
            assert page.status_code in (404, 422), page.text


def test_console_goodwill_with_a_nul_in_its_comment_is_a_422_and_writes_nothing(
    api: httpx.Client, container: Container, engine: Engine
) -> None:
    field = "comment"
    member = _member(api)
    make_agent(container, "amy")
    with console_client(container) as console:
        token = signed_in(console, "amy")
        form = {"miles": "100", "reason_code": "delay", "comment": "late", "csrf_token": token}
        form[field] = form[field] + "\x00"
        before = counts(engine)
        page = console.post(f"/console/members/{member}/goodwill", data=form, headers=HTMX)
        assert page.status_code == 422, page.text
        assert field in page.text
        assert counts(engine) == before


def test_console_claim_comment_with_a_nul_is_a_422_and_writes_nothing(
    api: httpx.Client, container: Container, engine: Engine
) -> None:
    member = _member(api)
    make_agent(container, "amy")
    with console_client(container) as console:
        token = signed_in(console, "amy")
        form = coupon(member, departure_date="2026-10-01", fare=...) | {
            "comment": "x\x00",
            "csrf_token": token,
        }
        before = counts(engine)
        page = console.post(
            f"/console/members/{member}/claims", data={k: str(v) for k, v in form.items()}, headers=HTMX
        )
        assert page.status_code == 422, page.text
        assert "comment" in page.text
        assert counts(engine) == before


def test_an_unexpected_error_is_answered_in_the_error_body_not_plain_text(container: Container) -> None:
    app = create_app(container)

    @app.get("/v1/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/bug")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"code": "internal_error", "message": "internal error"}}
