"""Health, readiness, metrics, OpenAPI and the request size limit."""

from __future__ import annotations

from fastapi.testclient import TestClient

from miles.api.app import create_app
from miles.bootstrap import Container
from tests.integration.factories import coupon, enrol


def test_health_and_readiness_answer(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


def test_readiness_fails_when_the_database_is_unreachable(container: Container) -> None:
    from miles.bootstrap import build_container

    broken = build_container("postgresql://postgres@127.0.0.1:1/nowhere")
    with TestClient(create_app(broken)) as tc:
        response = tc.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")


def test_metrics_count_accruals_by_outcome_and_carrier(client: TestClient) -> None:
    member = enrol(client)
    client.post("/v1/accruals/flights", json=coupon(member))
    text = client.get("/metrics").text
    assert 'miles_accruals_total{carrier="YY",outcome="created"}' in text
    assert "miles_http_request_seconds_bucket" in text


def test_openapi_documents_every_route_and_request_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/members",
        "/v1/members/{member_number}",
        "/v1/members/{member_number}/statement",
        "/v1/accruals/flights",
        "/v1/accruals/flights/batch",
        "/v1/accruals/{accrual_id}/reversal",
    ):
        assert path in spec["paths"], path
    assert "FlightAccrualRequest" in spec["components"]["schemas"]
    body = spec["paths"]["/v1/accruals/flights"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/FlightAccrualRequest")


def test_a_body_over_the_size_limit_is_413(container: Container, api_key: str) -> None:
    with TestClient(create_app(container, max_body_bytes=1000)) as tc:
        response = tc.post(
            "/v1/accruals/flights/batch",
            json={"items": [coupon("1000000016")] * 20},
            headers={"Authorization": f"Bearer {api_key}"},
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_unknown_routes_are_404_with_the_error_body(client: TestClient) -> None:
    response = client.get("/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_request_id_is_echoed_and_given_to_jobs_the_request_causes(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    from miles.observability import request_id

    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32
    token = request_id.set("abc-123")
    try:
        with engine.begin() as connection:
            from miles.adapters.db.outbox import OutboxRepository

            outbox = OutboxRepository(connection)
            outbox.add("miles.outbox.relay", {})
            [row] = outbox.claim()
    finally:
        request_id.reset(token)
    assert row.request_id == "abc-123"
