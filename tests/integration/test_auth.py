"""API keys: a missing or wrong key is 401, a key without the route's scope is 403, nothing written."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from miles.bootstrap import Container
from tests.integration.conftest import make_key
from tests.integration.factories import coupon, enrol, row_counts

ROUTES = [
    ("post", "/v1/members", "member:write", {"given_name": "A", "family_name": "B", "email": "a@b.example"}),
    ("get", "/v1/members/1000000016", "member:read", None),
    ("get", "/v1/members/1000000016/statement", "member:read", None),
    ("post", "/v1/accruals/flights", "accrual:write", "coupon"),
    ("post", "/v1/accruals/flights/batch", "accrual:write", "batch"),
    ("post", "/v1/accruals/1/reversal", "accrual:write", {"reason": "refund"}),
]


def _body(kind: object, member: str) -> object:
    if kind == "coupon":
        return coupon(member)
    if kind == "batch":
        return {"items": [coupon(member)]}
    return kind


@pytest.mark.parametrize(("method", "path", "scope", "body"), ROUTES, ids=[r[1] + " " + r[0] for r in ROUTES])
def test_every_route_needs_a_key_with_its_scope(
    client: TestClient, container: Container, engine: Engine, method: str, path: str, scope: str, body: object
) -> None:
    member = enrol(client)
    before = row_counts(engine)
    payload = _body(body, member)
    kwargs = {"json": payload} if payload is not None else {}
    request = getattr(client, method)
    missing = request(path, headers={"Authorization": ""}, **kwargs)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "missing_api_key"
    wrong = request(path, headers={"Authorization": "Bearer mk_000000000000_notakey"}, **kwargs)
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    others = [s for s in ("accrual:write", "member:read", "member:write", "redemption:write") if s != scope]
    lacking = request(path, headers={"Authorization": f"Bearer {make_key(container, others)}"}, **kwargs)
    assert lacking.status_code == 403
    assert lacking.json()["error"]["code"] == "missing_scope"
    after = row_counts(engine)
    after.pop("accounts"), before.pop("accounts")
    assert after == before


def test_a_tampered_key_with_a_real_prefix_is_refused(client: TestClient, api_key: str) -> None:
    tampered = api_key[:-2] + ("AA" if not api_key.endswith("AA") else "BB")
    response = client.get("/v1/members/1000000016", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert response.headers["content-type"].startswith("application/json")


def test_keys_are_stored_hashed(container: Container, api_key: str, engine: Engine) -> None:
    from sqlalchemy import text

    with engine.connect() as c:
        stored = c.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
    assert stored
    assert all(api_key not in value and len(value) == 64 for value in stored)
