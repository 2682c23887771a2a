"""Driving the console in tests: agents, signing in, the CSRF token of a page, counting what was written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.api.app import create_app
from miles.bootstrap import Container
from miles.domain.agents import Actor
from miles.services.agents import create_agent

PASSWORD = "correct horse battery"
HTMX = {"HX-Request": "true"}
CONSOLE_TABLES = (
    "goodwill_adjustments",
    "missing_miles_claims",
    "audit_log",
    "transfers",
    "lots",
    "accruals",
)


def make_agent(container: Container, name: str, role: str = "agent", password: str = PASSWORD) -> Actor:
    return create_agent(container, name, role, password)


@contextmanager
def console_client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), follow_redirects=False) as tc:
        yield tc


def sign_in_token(client: TestClient) -> str:
    page = client.get("/console/sign-in")
    found = re.search(r'name="sign_in_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> httpx.Response:
    token = sign_in_token(client)
    return client.post(
        "/console/sign-in", data={"name": name, "password": password, "sign_in_token": token, "next": ""}
    )


def signed_in(client: TestClient, name: str) -> str:
    """Sign in and return the session's CSRF token."""
    response = sign_in(client, name)
    assert response.status_code == 303, response.text
    return csrf(client)


def csrf(client: TestClient, path: str = "/console/members") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def field_errors(html: str) -> dict[str, str]:
    return {k: unescape(v) for k, v in re.findall(r'data-field="([a-z_]+)">([^<]*)<', html)}


def counts(engine: Engine, tables: tuple[str, ...] = CONSOLE_TABLES) -> dict[str, int]:
    with engine.connect() as c:
        return {t: int(c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}


def member_balance(engine: Engine, number: str) -> int:
    with engine.connect() as c:
        return int(
            c.execute(
                text("SELECT balance FROM accounts WHERE code = :c"), {"c": f"member:{number}"}
            ).scalar_one()
        )
