"""Every /v1 operation checks a scope: without a key it is 401, and with a key lacking that scope
(and only that one) it is 403 — found by walking every operation of the OpenAPI document."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from miles.api.app import create_app
from miles.api.openapi import OPERATIONS
from miles.bootstrap import Container, build_container
from miles.services.apikeys import SCOPES
from tests.integration.conftest import make_key

SAMPLE = {"member_number": "1000000016", "date": "2026-01-01", "run_date": "2026-01-01"}
GRANTABLE = [s for s in SCOPES if s != "admin"]


def _operations() -> list[tuple[str, str]]:
    spec = create_app(build_container("postgresql://unused@127.0.0.1:1/x")).openapi()
    return sorted((m.upper(), p) for p, ms in spec["paths"].items() for m in ms if p.startswith("/v1"))


def _path(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "1"), template)


@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: str(v))
def test_every_v1_operation_refuses_a_key_lacking_its_scope(
    method: str, path: str, container: Container
) -> None:
    url = _path(path)
    with TestClient(create_app(container)) as client:
        assert client.request(method, url, json={}).status_code == 401
        refused_without = []
        for scope in GRANTABLE:
            key = make_key(container, [s for s in GRANTABLE if s != scope])
            response = client.request(method, url, json={}, headers={"Authorization": f"Bearer {key}"})
            if response.status_code == 403:
                assert response.json()["error"]["code"] == "missing_scope"
                refused_without.append(scope)
        if OPERATIONS[(method, path)].scope == "admin":  # no other scope opens it; an admin key does
            admin = make_key(container, ["admin"])
            response = client.request(method, url, json={}, headers={"Authorization": f"Bearer {admin}"})
            assert response.status_code != 403, response.text
            assert refused_without == GRANTABLE, f"{method} {path}: refused without {refused_without}"
            return
    assert len(refused_without) == 1, f"{method} {path}: refused without {refused_without}"
