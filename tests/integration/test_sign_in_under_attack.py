"""Console sign-in attacked through a real `miles serve`: concurrent wrong passwords never pass the limits,
a made-up X-Forwarded-For from an untrusted peer neither bypasses nor redirects them, and a flood of
sign-ins neither balloons the server's memory nor slows another member's reads."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.conftest import NOW, free_port, make_key, wait_healthy
from tests.integration.console_helpers import PASSWORD, make_agent

WRONG = "not the password"
BUSY = "busy signing other agents in"
PINNED = (NOW + timedelta(minutes=5)).isoformat()


@dataclass(frozen=True)
class Server:
    base: str
    pid: int

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far (VmHWM), in MB."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        assert found, status
        return int(found.group(1)) / 1024


@contextmanager
def miles_serve(database_url: str, **settings: str) -> Iterator[Server]:
    """One `miles serve` process (one worker: the numbers below are that process's) with MILES_* settings;
    the proxy-trust setting is cleared unless given, whatever the test's own environment holds. Its clock
    is pinned inside one throttling window, so that no count starts again halfway through a test."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MILES_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS")}
    env |= {"MILES_DATABASE_URL": database_url, "MILES_LOG_LEVEL": "warning", "MILES_CLOCK_AT": PINNED}
    env |= {f"MILES_{name.upper()}": value for name, value in settings.items()}
    process = subprocess.Popen(
        [sys.executable, "-m", "miles.cli", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def browser(base: str, from_address: str = "127.0.0.1") -> httpx.Client:
    """A client whose connections come from `from_address` (any of 127.0.0.0/8 is this machine)."""
    transport = httpx.HTTPTransport(local_address=from_address)
    return httpx.Client(base_url=base, transport=transport, timeout=120, follow_redirects=False)


@dataclass(frozen=True)
class Form:
    """The sign-in form's token and the cookie it is paired with (sent explicitly, so that a sign-in
    that succeeds, which deletes the cookie, does not spoil the form for the next try)."""

    nonce: str
    token: str


def sign_in_form(client: httpx.Client) -> Form:
    page = client.get("/console/sign-in")
    found = re.search(r'name="sign_in_token" value="([^"]+)"', page.text)
    assert found, page.text
    return Form(page.cookies["miles_sign_in"], found.group(1))


def post_sign_in(
    client: httpx.Client, form: Form, name: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return client.post(
        "/console/sign-in",
        data={"name": name, "password": password, "sign_in_token": form.token, "next": ""},
        headers={"Cookie": f"miles_sign_in={form.nonce}"} | (headers or {}),
    )


def until_not_busy(send: Callable[[], httpx.Response]) -> httpx.Response:
    """Send again while the server is too busy to check (those answers check nothing and count nothing)."""
    while True:
        response = send()
        if not (response.status_code == 429 and BUSY in response.text):
            return response
        time.sleep(float(response.headers["Retry-After"]) / 10)


def checked(engine: Engine) -> list[str]:
    """The address of each try checked against a password, in order."""
    with engine.connect() as c:
        return list(c.execute(text("SELECT address FROM sign_in_attempts ORDER BY id")).scalars())


def test_sixty_concurrent_wrong_tries_from_one_address_check_at_most_its_limit(
    database_url: str, engine: Engine
) -> None:
    with miles_serve(database_url) as server:
        clients = [browser(server.base) for _ in range(60)]
        tokens = [sign_in_form(c) for c in clients]
        start = threading.Barrier(60)

        def attempt(i: int) -> httpx.Response:
            start.wait()
            return until_not_busy(lambda: post_sign_in(clients[i], tokens[i], f"guess{i}", WRONG))

        with ThreadPoolExecutor(60) as pool:
            answers = list(pool.map(attempt, range(60)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * 20 + [429] * 40
    assert all("from your address" in a.text for a in answers if a.status_code == 429)
    assert len(checked(engine)) == 20


def test_concurrent_wrong_tries_for_one_name_check_at_most_its_limit(
    database_url: str, engine: Engine, container: Container
) -> None:
    make_agent(container, "erin")
    with miles_serve(database_url) as server:
        clients = [browser(server.base) for _ in range(12)]
        tokens = [sign_in_form(c) for c in clients]
        start = threading.Barrier(12)

        def attempt(i: int) -> httpx.Response:
            start.wait()
            return until_not_busy(lambda: post_sign_in(clients[i], tokens[i], "erin", WRONG))

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(attempt, range(12)))
    assert sorted(a.status_code for a in answers) == [401] * 5 + [429] * 7
    assert len(checked(engine)) == 5


def test_a_made_up_forwarded_for_neither_bypasses_nor_redirects_the_limits(
    database_url: str, engine: Engine, container: Container
) -> None:
    make_agent(container, "erin")
    with miles_serve(database_url) as server:
        with browser(server.base, "127.0.0.1") as attacker:
            token = sign_in_form(attacker)
            # pretending to be erin's address: the tries count against the attacker's own
            for _ in range(6):
                until_not_busy(
                    lambda: post_sign_in(attacker, token, "erin", WRONG, {"X-Forwarded-For": "127.0.0.3"})
                )
            # a new address for every try: the address's limit holds all the same
            answers = [
                until_not_busy(
                    lambda i=i: post_sign_in(
                        attacker, token, f"guess{i}", WRONG, {"X-Forwarded-For": f"10.0.{i}.1"}
                    )
                ).status_code
                for i in range(16)
            ]
        with browser(server.base, "127.0.0.3") as erin:
            own = until_not_busy(lambda: post_sign_in(erin, sign_in_form(erin), "erin", PASSWORD))
    assert answers == [401] * 15 + [429]  # 5 for erin + 15 guesses = the address's 20
    assert own.status_code == 303
    assert set(checked(engine)) == {"127.0.0.1", "127.0.0.3"}
    assert checked(engine).count("127.0.0.1") == 20


def test_a_trusted_proxy_s_forwarded_for_is_the_caller_s_address(
    database_url: str, engine: Engine, container: Container
) -> None:
    make_agent(container, "erin")
    with miles_serve(database_url, trusted_proxies="127.0.0.1") as server:
        with browser(server.base, "127.0.0.1") as proxy:
            token = sign_in_form(proxy)
            for _ in range(5):
                until_not_busy(
                    lambda: post_sign_in(proxy, token, "erin", WRONG, {"X-Forwarded-For": "192.0.2.66"})
                )
            locked = until_not_busy(
                lambda: post_sign_in(proxy, token, "erin", PASSWORD, {"X-Forwarded-For": "192.0.2.66"})
            )
            colleague = until_not_busy(
                lambda: post_sign_in(proxy, token, "erin", PASSWORD, {"X-Forwarded-For": "192.0.2.10"})
            )
    assert locked.status_code == 429
    assert colleague.status_code == 303
    assert checked(engine) == ["192.0.2.66"] * 5 + ["192.0.2.10"]


def read_latencies(
    base: str, key: str, member: str, seconds: float | None, stop: threading.Event
) -> list[float]:
    """Milliseconds of each GET /v1/members/{member}, one after another, for `seconds` or until `stop`."""
    latencies = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as reader:
        deadline = None if seconds is None else time.monotonic() + seconds
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            began = time.perf_counter()
            assert reader.get(f"/v1/members/{member}").status_code == 200
            latencies.append((time.perf_counter() - began) * 1000)
            time.sleep(0.01)
    return latencies


def test_a_flood_of_sign_ins_neither_balloons_memory_nor_slows_another_member_s_reads(
    database_url: str, container: Container
) -> None:
    """Waves of 60 sign-ins at once, each a new name from an address of its own (as a botnet would send
    them, so the throttle does not stop them before their password is checked)."""
    key = make_key(container, ["member:read", "member:write"])
    with miles_serve(database_url) as server:
        with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"}) as api:
            enrolled = api.post(
                "/v1/members", json={"given_name": "Ada", "family_name": "Lovelace", "email": "a@b.example"}
            )
            member = enrolled.json()["member_number"]
        unloaded = statistics.median(read_latencies(server.base, key, member, 2.0, threading.Event()))
        clients = [browser(server.base, f"127.0.1.{10 + i}") for i in range(60)]
        forms = [sign_in_form(c) for c in clients]
        rss_before = server.peak_rss_mb()
        stop = threading.Event()
        loaded: list[float] = []
        reader = threading.Thread(
            target=lambda: loaded.extend(read_latencies(server.base, key, member, None, stop))
        )
        answers: list[httpx.Response] = []
        with ThreadPoolExecutor(60) as pool:
            reader.start()
            began = time.monotonic()
            wave = 0
            while time.monotonic() - began < 4:  # waves of 60 at once, for four seconds
                wave += 1
                answers += pool.map(
                    lambda i, w=wave: post_sign_in(clients[i], forms[i], f"flood{w}-{i}", WRONG), range(60)
                )
            stop.set()
            reader.join()
        peak = server.peak_rss_mb()
    refused = sum(a.status_code == 401 for a in answers)
    busy = [a for a in answers if a.status_code == 429]
    print(
        f"sign-ins {len(answers)}: {refused} checked and refused, {len(busy)} busy; member reads median "
        f"{unloaded:.1f} ms unloaded, {statistics.median(loaded):.1f} ms under the flood "
        f"({len(loaded)} reads); "
        f"peak RSS {rss_before:.0f} MB before, {peak:.0f} MB after"
    )
    assert refused >= 1  # the server still checks passwords
    assert refused + len(busy) == len(answers)
    assert all(a.headers["Retry-After"] == "1" and BUSY in a.text for a in busy)
    assert len(loaded) >= 10
    assert statistics.median(loaded) < max(250.0, 10 * unloaded)
    assert peak < 600
