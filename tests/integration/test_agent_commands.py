"""`miles agent list|disable` against a real `miles serve`: a disabled agent's session ends at once and they
cannot sign in again; the list shows who exists, their role, and when they were created, disabled and last
signed in."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.console_helpers import PASSWORD, make_agent
from tests.integration.test_sign_in_under_attack import browser, miles_serve, post_sign_in, sign_in_form


def miles(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MILES_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "miles.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def table_rows(output: str) -> dict[str, list[str]]:
    """The rows of a table the command printed, by their first cell."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in output.splitlines() if "│" in line]
    return {row[0]: row[1:] for row in rows}


def test_a_disabled_agent_is_signed_out_at_once_and_cannot_sign_in_again(
    database_url: str, container: Container, engine: Engine
) -> None:
    make_agent(container, "kate")
    make_agent(container, "leo", role="supervisor")
    with miles_serve(database_url) as server, browser(server.base) as kate:
        assert post_sign_in(kate, sign_in_form(kate), "kate", PASSWORD).status_code == 303
        assert kate.get("/console/members").status_code == 200

        disabled = miles(database_url, "agent", "disable", "KATE")
        assert disabled.returncode == 0, disabled.stderr
        assert "1 session ended" in disabled.stdout

        assert kate.get("/console/members").status_code == 303  # the very next request
        kate.cookies.clear()
        again = post_sign_in(kate, sign_in_form(kate), "kate", PASSWORD)
        assert again.status_code == 401
        assert "wrong name or password" in again.text  # a disabled name says no more than a wrong one

    listed = miles(database_url, "agent", "list")
    assert listed.returncode == 0, listed.stderr
    rows = table_rows(listed.stdout)
    when = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")
    role, created, disabled, last = rows["kate"]
    assert role == "agent"
    assert all(when.match(at) for at in (created, disabled, last))
    assert rows["leo"][0] == "supervisor"
    assert rows["leo"][2:] == ["-", "-"]  # never disabled, never signed in
    assert "2 console users" in listed.stdout
    with engine.connect() as c:
        audit = c.execute(text("SELECT actor, action FROM audit_log WHERE action = 'agent.disabled'")).all()
    assert [tuple(r) for r in audit] == [("cli", "agent.disabled")]


def test_disabling_an_unknown_agent_says_so(database_url: str) -> None:
    result = miles(database_url, "agent", "disable", "nobody")
    assert result.returncode == 2
    assert "no console user named 'nobody'" in result.stderr
