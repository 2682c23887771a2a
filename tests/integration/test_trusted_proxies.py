"""`miles serve` believes X-Forwarded-For only from MILES_TRUSTED_PROXIES (none by default).

What the server takes as a request's address is seen through the console's sign-in throttle, which counts
wrong passwords per (name, address): five wrong tries lock the name out from the address they came from."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from miles.bootstrap import Container
from tests.integration.conftest import free_port, wait_healthy
from tests.integration.console_helpers import PASSWORD, make_agent

WRONG_TRIES = 5  # the throttle's failures per name and address


@contextmanager
def serving(database_url: str, trusted_proxies: str | None) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "MILES_DATABASE_URL": database_url, "MILES_LOG_LEVEL": "warning"}
    env.pop("MILES_TRUSTED_PROXIES", None)
    env.pop("FORWARDED_ALLOW_IPS", None)
    if trusted_proxies is not None:
        env["MILES_TRUSTED_PROXIES"] = trusted_proxies
    process = subprocess.Popen([sys.executable, "-m", "miles.cli", "serve", "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def sign_in(client: httpx.Client, name: str, password: str, forwarded_for: str | None = None) -> int:
    page = client.get("/console/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text)
    assert token, page.text
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    response = client.post(
        "/console/sign-in",
        data={"name": name, "password": password, "sign_in_token": token.group(1), "next": ""},
        headers=headers,
    )
    return response.status_code


def wrong_tries_then_sign_in(base: str, name: str) -> int:
    """Five wrong passwords, each claiming another address; then the right one with no header."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        for n in range(WRONG_TRIES):
            assert sign_in(client, name, "not the password", forwarded_for=f"203.0.113.{n + 1}") == 401
        return sign_in(client, name, PASSWORD)


def test_a_made_up_forwarded_for_from_an_untrusted_peer_is_not_the_request_address(
    database_url: str, container: Container
) -> None:
    make_agent(container, "proxy-untrusted")
    with serving(database_url, trusted_proxies=None) as base:
        # every wrong try counted against the real peer, 127.0.0.1: the name is locked out from it
        assert wrong_tries_then_sign_in(base, "proxy-untrusted") == 429


def test_a_trusted_proxy_forwards_the_callers_address(database_url: str, container: Container) -> None:
    make_agent(container, "proxy-trusted")
    with serving(database_url, trusted_proxies="10.9.0.0/16, 127.0.0.1") as base:
        # each wrong try counted against the address the proxy named: the peer's own sign-in goes through
        assert wrong_tries_then_sign_in(base, "proxy-trusted") == 303
