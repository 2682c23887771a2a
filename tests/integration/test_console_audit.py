"""The audit trail: every change an agent makes records who, when, what and why; supervisors read it at
/console/audit, everyone sees a member's on the member page; nobody can alter it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from miles.bootstrap import Container
from tests.integration.console_helpers import HTMX, console_client, make_agent, signed_in
from tests.integration.factories import enrol, next_ticket


def test_every_change_shows_who_what_and_why_in_the_audit(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "amy")
    make_agent(container, "sid", role="supervisor")
    with console_client(container) as agent:
        token = signed_in(agent, "amy")
        url = f"/console/members/{member}"
        agent.post(
            f"{url}/goodwill",
            data={
                "miles": "2000",
                "reason_code": "baggage",
                "comment": "bag lost on ZZ9",
                "csrf_token": token,
            },
            headers=HTMX,
        )
        agent.post(
            f"{url}/goodwill",
            data={
                "miles": "8000",
                "reason_code": "complaint",
                "comment": "cabin broken",
                "csrf_token": token,
            },
            headers=HTMX,
        )
        agent.post(
            f"{url}/claims",
            data={
                "ticket_number": next_ticket(),
                "coupon_number": "1",
                "marketing_carrier": "YY",
                "flight_number": "123",
                "origin": "JFK",
                "destination": "LHR",
                "departure_date": "2026-11-01",
                "booking_class": "Y",
                "comment": "not credited",
                "csrf_token": token,
            },
            headers=HTMX,
        )
        trail = agent.get(url).text.split('data-testid="member-audit"')[1].split("</table>")[0]
        assert "Goodwill miles applied (2,000 miles)" in trail
        assert "Baggage: bag lost on ZZ9" in trail
        assert "waits for a supervisor" in trail
        assert "Missing-miles claim posted" in trail
    with engine.connect() as c:
        adjustment_id = c.execute(
            text("SELECT id FROM goodwill_adjustments WHERE status = 'PENDING'")
        ).scalar_one()
    with console_client(container) as supervisor:
        token = signed_in(supervisor, "sid")
        supervisor.post(
            f"/console/approvals/{adjustment_id}/approve", data={"csrf_token": token, "note": "ok per policy"}
        )
        page = supervisor.get("/console/audit").text
        actions = [
            a
            for a in ("goodwill.applied", "goodwill.requested", "claim.posted", "goodwill.approved")
            if f'data-action="{a}"' in page
        ]
        assert len(actions) == 4
        assert "ok per policy" in page
        assert "cabin broken" in page
        only_sid = supervisor.get("/console/audit", params={"actor": "sid", "action": "goodwill"}).text
        assert 'data-action="goodwill.approved"' in only_sid
        assert 'data-action="goodwill.applied"' not in only_sid
        for_member = supervisor.get("/console/audit", params={"member": member}).text
        assert for_member.count(f'href="/console/members/{member}"') == 4
        bad = supervisor.get("/console/audit", params={"member": "123"})
        assert bad.status_code == 422
        assert 'data-field="member"' in bad.text
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT actor, action, at, reason FROM audit_log WHERE member_id IS NOT NULL ORDER BY id")
        ).all()
    assert [(r.actor, r.action) for r in rows] == [
        ("amy", "goodwill.applied"),
        ("amy", "goodwill.requested"),
        ("amy", "claim.posted"),
        ("sid", "goodwill.approved"),
    ]
    assert all(r.at.tzinfo is not None and r.reason for r in rows)


def test_the_audit_log_cannot_be_changed_or_deleted(container: Container, engine: Engine) -> None:
    make_agent(container, "ned")
    with engine.connect() as c:
        before = c.execute(text("SELECT id, actor FROM audit_log ORDER BY id")).all()
    assert before
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as c:
            c.execute(text(statement))
    with engine.connect() as c:
        assert c.execute(text("SELECT id, actor FROM audit_log ORDER BY id")).all() == before


def test_agent_create_stores_an_argon2_hash_and_refuses_a_taken_name(
    database_url: str, engine: Engine
) -> None:
    env = {**os.environ, "MILES_DATABASE_URL": database_url}

    def miles(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "miles.cli", "agent", "create", *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = miles("olga", "--role", "supervisor", "--password", "a long passphrase")
    assert made.returncode == 0, made.stderr
    assert "created supervisor 'olga'" in made.stdout
    asked = miles("pete", stdin="another passphrase\nanother passphrase\n")
    assert asked.returncode == 0, asked.stderr
    taken = miles("OLGA", "--password", "a long passphrase")
    assert taken.returncode == 2
    assert "already a console user named" in taken.stderr
    weak = miles("quin", "--role", "boss", "--password", "short")
    assert weak.returncode == 2
    assert "role" in weak.stderr
    assert "password" in weak.stderr
    with engine.connect() as c:
        stored = dict(c.execute(text("SELECT name, password_hash FROM agents")).all())
    assert set(stored) == {"olga", "pete"}
    assert all(h.startswith("$argon2id$") and "passphrase" not in h for h in stored.values())
