"""API keys through a real `miles serve` (two processes): revoked in the CLI, refused everywhere within
5 s; expired, refused; listed with their state and last use."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.integration.conftest import free_port, wait_healthy

REVOCATION_BOUND_SECONDS = 5.0
MEMBER = "/v1/members/1000000016"  # no such member: an accepted key gets 404
SERVER_CLOCK = datetime.now(UTC) + timedelta(days=2)  # the server lives two days ahead of the CLI


def miles(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MILES_DATABASE_URL": database_url, "COLUMNS": "250"}
    env.pop("MILES_CLOCK_AT", None)
    return subprocess.run(
        [sys.executable, "-m", "miles.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def new_key(database_url: str, name: str, *options: str) -> str:
    result = miles(database_url, "apikey", "create", name, "--scope", "member:read", *options)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "MILES_DATABASE_URL": database_url,
        "MILES_LOG_LEVEL": "warning",
        "MILES_CLOCK_AT": SERVER_CLOCK.isoformat(),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "miles.cli", "serve", "--port", str(port), "--workers", "2"], env=env
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, process)
    yield base
    process.terminate()
    process.wait(10)


def call(base: str, key: str) -> httpx.Response:
    """A new connection each time, so that both server processes answer some of the calls."""
    return httpx.get(f"{base}{MEMBER}", headers={"Authorization": f"Bearer {key}"}, timeout=10)


def refused_everywhere_after(base: str, key: str, since: float, what: str) -> list[httpx.Response]:
    """Polls until 20 calls in a row are refused (each process of the server answers some of them: one
    process refusing first does not make the other refuse); fails when a call sent past the bound was still
    let in. Those 20 answers. The bound is on when a call was sent, not on how long the 20 calls take (on
    a loaded machine they may take longer than the bound themselves)."""
    streak: list[httpx.Response] = []
    while len(streak) < 20:
        sent = time.monotonic()
        answer = call(base, key)
        if answer.status_code == 401:
            streak.append(answer)
            continue
        streak = []
        late = sent - since
        assert late < REVOCATION_BOUND_SECONDS, f"the {what} key still worked {late:.1f} s after, somewhere"
        time.sleep(0.05)
    return streak


def test_a_key_revoked_in_the_cli_is_refused_by_every_process_within_5_seconds(
    database_url: str, server: str
) -> None:
    key = new_key(database_url, "revoked-by-cli")
    assert all(call(server, key).status_code == 404 for _ in range(20))  # accepted and cached everywhere
    revoked = miles(database_url, "apikey", "revoke", "revoked-by-cli")
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in revoked.stdout
    since = time.monotonic()
    answers = refused_everywhere_after(server, key, since, "revoked")
    assert {a.json()["error"]["code"] for a in answers} == {"key_revoked"}


def test_a_key_deleted_by_hand_in_sql_is_refused_within_5_seconds(
    database_url: str, server: str, engine: Engine
) -> None:
    key = new_key(database_url, "deleted-in-sql")
    assert all(call(server, key).status_code == 404 for _ in range(20))
    with engine.begin() as c:
        c.execute(text("DELETE FROM api_keys WHERE name = 'deleted-in-sql'"))
    since = time.monotonic()
    answers = refused_everywhere_after(server, key, since, "deleted")
    assert {a.json()["error"]["code"] for a in answers} == {"invalid_api_key"}


def test_a_key_is_refused_from_its_expiry_on(database_url: str, server: str) -> None:
    lasting = new_key(database_url, "lasting", "--expires-in", "3")
    expiring = new_key(database_url, "expiring", "--expires-in", "1")  # the server's clock is past it
    assert call(server, lasting).status_code == 404
    response = call(server, expiring)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "key_expired"


def test_apikey_list_shows_each_keys_state_and_last_use(database_url: str, server: str) -> None:
    used = new_key(database_url, "listed-used")
    new_key(database_url, "listed-revoked")
    assert call(server, used).status_code == 404
    assert miles(database_url, "apikey", "revoke", "listed-revoked").returncode == 0
    listing = miles(database_url, "apikey", "list")
    assert listing.returncode == 0, listing.stderr
    rows = {line.split("│")[2].strip(): line for line in listing.stdout.splitlines() if line.count("│") > 5}
    assert "active" in rows["listed-used"]
    assert "revoked" in rows["listed-revoked"]
    columns = [cell.strip() for cell in rows["listed-used"].split("│")]
    assert columns[4] == "member:read"
    assert columns[8] != "-"  # last used: the call above
    assert columns[7] == "-"  # not revoked


def test_apikey_revoke_refuses_an_unknown_key(database_url: str) -> None:
    result = miles(database_url, "apikey", "revoke", "no-such-key")
    assert result.returncode == 2
    assert "no API key" in result.stderr


def test_apikey_create_takes_one_expiry_in_the_future(database_url: str) -> None:
    both = miles(
        database_url,
        "apikey",
        "create",
        "x",
        "-s",
        "admin",
        "--expires-in",
        "1",
        "--expires-at",
        "2099-01-01",
    )
    assert both.returncode == 2
    past = miles(database_url, "apikey", "create", "x", "-s", "admin", "--expires-at", "2001-01-01")
    assert past.returncode == 2
    assert "future" in past.stderr
    later = miles(database_url, "apikey", "create", "x", "-s", "admin", "--expires-at", "2099-01-01")
    assert later.returncode == 0, later.stderr
    assert "valid until 2099-01-01 00:00 UTC" in later.stderr
