"""Browser tests: Playwright (sync API) driving Debian's Chromium against a real `miles serve` with a
real Celery worker on a Redis of the tests' own, all on a database of their own (never the one the
integration tests truncate before each test). Screenshots of every page go to test-artifacts/
(git-ignored); every page state a test shows is also checked with axe-core (WCAG 2.1 A and AA rules, from
the npm registry: `npm ci --prefix tests/e2e`), and a page that logs a CSP violation or an htmx error
fails its test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import text

from miles.bootstrap import Container, build_container
from miles.services.clock import FixedClock
from tests.conftest import _server_url, migrated_database
from tests.integration.conftest import free_port, wait_healthy
from tests.integration.workers import RedisServer, celery_worker, redis_server, stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # the server's, the worker's and the tests' one clock
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SECRET = "e2e-console-secret-" + "x" * 40
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# console messages that are a page's fault: a refused inline style or script, an htmx selector that
# matches nothing (so, for one, no button is disabled while its request runs)
PAGE_FAULTS = ("Content Security Policy", "returned no matches")


@dataclass(frozen=True)
class LiveConsole:
    base_url: str
    container: Container  # the tests' own way into the same database (data set-up, checks)


@pytest.fixture(scope="session")
def e2e_redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def e2e_database_url() -> Iterator[str]:
    """A database for the browser tests alone, migrated, dropped after: the integration tests' `reset`
    truncates theirs before every test, which would pull the members out from under a page."""
    for server in _server_url():
        with migrated_database(server) as url:
            yield url


@pytest.fixture(scope="session")
def live_console(e2e_database_url: str, e2e_redis: RedisServer) -> Iterator[LiveConsole]:
    database_url = e2e_database_url
    env = {
        "MILES_CLOCK_AT": NOW.isoformat(),
        "MILES_CONSOLE_SECRET": SECRET,
    }
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "miles.cli", "serve", "--port", str(port)],
        env={
            **os.environ,
            "MILES_DATABASE_URL": database_url,
            "MILES_BROKER_URL": e2e_redis.url,
            "MILES_LOG_LEVEL": "warning",
            **env,
        },
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    container = build_container(database_url, clock=FixedClock(NOW), pool_size=2)
    try:
        with celery_worker(database_url, e2e_redis.url, concurrency=2, **env):
            wait_healthy(base, server, timeout=40, path="/readyz")
            yield LiveConsole(base, container)
    finally:
        stop(server)
        container.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, live_console: LiveConsole) -> Iterator[Page]:
    context = browser.new_context(base_url=live_console.base_url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    faults: list[str] = []
    tab.on("console", lambda m: faults.append(m.text) if any(f in m.text for f in PAGE_FAULTS) else None)
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not faults, f"the page logged CSP violations or htmx errors: {faults}"


@pytest.fixture
def unique() -> str:
    """A suffix for the names a test makes: tests share the database."""
    return uuid.uuid4().hex[:8]


def shot(page: Page, name: str) -> None:
    """A screenshot of the page as it is, and axe-core's verdict on it: no serious or critical violation."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert_accessible(page, name)


def axe_violations(page: Page) -> list[dict[str, object]]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --prefix tests/e2e` (.ci/run does)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())  # through the debugger, not a <script>: the CSP stays as served
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def assert_accessible(page: Page, state: str) -> None:
    found = axe_violations(page)
    assert not found, f"axe-core on {state}: {json.dumps(found, indent=1)}"


def ledger_balanced(container: Container) -> list[str]:
    with container.engine.connect() as c:
        return [
            r.code
            for r in c.execute(
                text(
                    "SELECT a.code FROM accounts a LEFT JOIN entries e ON e.account_id = a.id "
                    "GROUP BY a.id HAVING a.balance <> coalesce(sum(e.amount), 0)"
                )
            )
        ]
