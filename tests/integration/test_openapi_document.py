"""The OpenAPI document tells the truth (issue 11 item 3) and `/docs` works without a CDN, read from a real
`miles serve`: real success statuses with response schemas, one error schema on every error status,
short operation ids, scopes, no security on health and metrics, Idempotency-Key required where the
server requires it, enums for cabins and reason codes, and no FastAPI validation body anywhere."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def spec(live_server: str) -> dict[str, Any]:
    response = httpx.get(f"{live_server}/openapi.json", timeout=30)
    assert response.status_code == 200
    return dict(response.json())


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ms in spec["paths"].items() for m, op in ms.items()]


def test_no_operation_describes_fastapis_validation_body(spec: dict[str, Any]) -> None:
    text = json.dumps(spec)
    assert "HTTPValidationError" not in text
    assert '"detail"' not in text
    assert "ValidationError" not in spec["components"]["schemas"]


def test_every_error_status_is_the_error_body_and_every_success_has_a_schema(spec: dict[str, Any]) -> None:
    for method, path, op in _operations(spec):
        for status, response in op["responses"].items():
            content = response.get("content", {})
            if int(status) >= 400 and path != "/readyz":
                assert content == {"application/json": {"schema": ERROR_REF}}, (method, path, status)
            elif path == "/metrics":
                assert list(content) == ["text/plain"], content
            else:
                assert content["application/json"]["schema"]["$ref"].startswith("#/components/schemas/"), (
                    method,
                    path,
                    status,
                )
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]


def test_real_statuses_are_declared(spec: dict[str, Any]) -> None:
    statuses = {(m, p): set(op["responses"]) for m, p, op in _operations(spec)}
    assert {"200", "201", "401", "403", "409", "422"} <= statuses[("POST", "/v1/accruals/flights")]
    assert {"200", "201", "409"} <= statuses[("POST", "/v1/members")]
    assert {"202", "409", "422"} <= statuses[("POST", "/v1/redemptions")]
    assert "200" not in statuses[("POST", "/v1/redemptions")]
    assert {"200", "404"} <= statuses[("GET", "/v1/redemptions/{redemption_id}")]
    assert {"200", "201"} <= statuses[("POST", "/v1/accruals/{accrual_id}/reversal")]


def test_operation_ids_are_short_unique_and_scopes_are_told(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][A-Za-z]{2,24}", i) for i in ids), ids
    for method, path, op in _operations(spec):
        if path in ("/healthz", "/readyz", "/metrics"):
            assert op["security"] == [], path
        else:
            assert op["security"] == [{"bearer": []}], path
            assert f"Scope: `{op['x-scope']}`" in op["description"], (method, path)


def test_idempotency_key_is_required_where_the_server_requires_it(spec: dict[str, Any]) -> None:
    def header(method: str, path: str) -> dict[str, Any]:
        [found] = [p for p in spec["paths"][path][method]["parameters"] if p["in"] == "header"]
        return dict(found)

    assert header("post", "/v1/redemptions") == header("post", "/v1/redemptions") | {
        "name": "Idempotency-Key",
        "required": True,
    }
    assert header("post", "/v1/members")["required"] is False


def test_batch_items_cabins_and_reason_codes_are_typed(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    result = schemas["BatchResults"]["properties"]["results"]["items"]
    assert result == {"$ref": "#/components/schemas/BatchResult"}
    item = schemas["BatchAccrualRequest"]["properties"]["items"]["items"]
    assert item == {"$ref": "#/components/schemas/FlightAccrualRequest"}
    assert schemas["FlightItem"]["properties"]["cabin"]["enum"]
    assert "delay" in schemas["AdjustmentRequest"]["properties"]["reason_code"]["enum"]
    assert schemas["BatchResult"]["properties"]["status"]["enum"] == [
        "created",
        "replayed",
        "conflict",
        "rejected",
    ]


def test_docs_are_served_from_vendored_files(live_server: str) -> None:
    page = httpx.get(f"{live_server}/docs", timeout=30)
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/docs/static/swagger-ui-bundle.js" in scripts
    for asset in scripts:
        response = httpx.get(f"{live_server}{asset}", timeout=30)
        assert response.status_code == 200, asset
        assert len(response.content) > 100
    assert "script-src 'self'" in page.headers["content-security-policy"]
    licence = httpx.get(f"{live_server}/docs/static/swagger-ui.LICENSE", timeout=30)
    assert "Apache License" in licence.text
