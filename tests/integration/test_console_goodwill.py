"""Goodwill miles in the console: within the agent limit they are posted at once (a ledger transfer from
the goodwill account and a new earn lot); above it they wait for a supervisor, who is never the
requester; refusals show each problem next to its field and write nothing."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.console_helpers import (
    HTMX,
    console_client,
    counts,
    field_errors,
    make_agent,
    member_balance,
    signed_in,
)
from tests.integration.factories import enrol


def grant(console: TestClient, token: str, member: str, miles: str, **extra: str) -> object:
    body = {"miles": miles, "reason_code": "delay", "comment": "ZZ12 five hours late", "csrf_token": token}
    return console.post(f"/console/members/{member}/goodwill", data=body | extra, headers=HTMX)


def test_goodwill_within_the_agent_limit_is_a_transfer_from_goodwill_with_a_new_lot(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "ana")
    with console_client(container) as console:
        token = signed_in(console, "ana")
        response = grant(console, token, member, "2,000")
        assert response.status_code == 200
        assert "2,000 miles applied" in response.text
        assert response.headers["HX-Trigger"] == "memberChanged"
    assert member_balance(engine, member) == 2000
    with engine.connect() as c:
        transfer = c.execute(
            text(
                "SELECT f.code AS source, t.amount, t.code, t.memo FROM transfers t "
                "JOIN accounts f ON f.id = t.from_account_id"
            )
        ).one()
        lot = c.execute(text("SELECT earned_date, expires_date, remaining FROM lots")).one()
        adjustment = c.execute(
            text("SELECT status, requested_by, transfer_id FROM goodwill_adjustments")
        ).one()
    assert (transfer.source, transfer.amount, transfer.code) == ("goodwill", 2000, "goodwill")
    assert transfer.memo == "Delay: ZZ12 five hours late"
    assert (lot.earned_date, lot.expires_date, lot.remaining) == (
        date(2026, 11, 23),
        date(2029, 11, 30),
        2000,
    )
    assert adjustment.status == "APPLIED"
    assert adjustment.requested_by == "ana"
    assert adjustment.transfer_id


def test_exactly_the_limit_applies_and_one_mile_more_waits(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "ben")
    with console_client(container) as console:
        token = signed_in(console, "ben")
        assert "5,000 miles applied" in grant(console, token, member, "5000").text
        waiting = grant(console, token, member, "5001")
        assert "wait for a supervisor" in waiting.text
    assert member_balance(engine, member) == 5000


def test_above_the_limit_a_supervisor_approves_and_the_miles_arrive(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "cleo")
    make_agent(container, "sara", role="supervisor")
    with console_client(container) as agent:
        grant(agent, signed_in(agent, "cleo"), member, "8000")
    assert member_balance(engine, member) == 0
    with console_client(container) as supervisor:
        token = signed_in(supervisor, "sara")
        queue = supervisor.get("/console/approvals")
        assert "8,000" in queue.text
        assert "cleo" in queue.text
        with engine.connect() as c:
            adjustment_id = c.execute(text("SELECT id FROM goodwill_adjustments")).scalar_one()
        approved = supervisor.post(
            f"/console/approvals/{adjustment_id}/approve",
            data={"csrf_token": token, "note": "checked the delay report"},
            headers=HTMX,
        )
        assert approved.status_code == 200
        assert "APPROVED" in approved.text
        again = supervisor.post(
            f"/console/approvals/{adjustment_id}/approve", data={"csrf_token": token}, headers=HTMX
        )
        assert again.status_code == 409  # a conflict, as the API answers it
        assert "already approved by sara" in again.text
        assert "Nothing is waiting" in supervisor.get("/console/approvals").text
    assert member_balance(engine, member) == 8000


def test_nobody_approves_their_own_request(container: Container, client: TestClient, engine: Engine) -> None:
    member = enrol(client)
    make_agent(container, "sue", role="supervisor")
    make_agent(container, "tom", role="supervisor")
    with console_client(container) as console:
        token = signed_in(console, "sue")
        grant(console, token, member, "9000")
        with engine.connect() as c:
            adjustment_id = c.execute(text("SELECT id FROM goodwill_adjustments")).scalar_one()
        own = console.post(
            f"/console/approvals/{adjustment_id}/approve", data={"csrf_token": token}, headers=HTMX
        )
        assert own.status_code == 403  # not allowed, as the API answers it
        assert "nobody approves their own" in own.text
    assert member_balance(engine, member) == 0
    with console_client(container) as other:
        token = signed_in(other, "tom")
        assert (
            other.post(f"/console/approvals/{adjustment_id}/approve", data={"csrf_token": token}).status_code
            == 303
        )
    assert member_balance(engine, member) == 9000


def test_a_rejection_needs_a_reason_and_posts_nothing(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "una")
    make_agent(container, "vic", role="supervisor")
    with console_client(container) as agent:
        grant(agent, signed_in(agent, "una"), member, "20000")
    with console_client(container) as supervisor:
        token = signed_in(supervisor, "vic")
        with engine.connect() as c:
            adjustment_id = c.execute(text("SELECT id FROM goodwill_adjustments")).scalar_one()
        bare = supervisor.post(
            f"/console/approvals/{adjustment_id}/reject", data={"csrf_token": token}, headers=HTMX
        )
        assert bare.status_code == 422
        assert field_errors(bare.text) == {"note": "say why the request is rejected"}
        rejected = supervisor.post(
            f"/console/approvals/{adjustment_id}/reject",
            data={"csrf_token": token, "note": "too generous for a 1 hour delay"},
            headers=HTMX,
        )
        assert "REJECTED" in rejected.text
    assert member_balance(engine, member) == 0
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM transfers")).scalar_one() == 0


def test_every_invalid_field_is_shown_next_to_it_and_nothing_is_written(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "wes")
    with console_client(container) as console:
        token = signed_in(console, "wes")
        before = counts(engine)
        response = console.post(
            f"/console/members/{member}/goodwill",
            data={"miles": "lots", "reason_code": "bribe", "comment": "", "csrf_token": token},
            headers=HTMX,
        )
        assert response.status_code == 422
        assert set(field_errors(response.text)) == {"miles", "reason_code", "comment"}
        assert 'value="lots"' in response.text  # what was typed stays in the form
        too_many = grant(console, token, member, "1000001")
        assert field_errors(too_many.text)["miles"] == "Miles is 1 to 1,000,000"
        assert counts(engine) == before


def test_goodwill_for_a_member_that_does_not_exist_is_404(container: Container, engine: Engine) -> None:
    make_agent(container, "xia")
    with console_client(container) as console:
        response = grant(console, signed_in(console, "xia"), "1000000990", "100")
        assert response.status_code == 404
        assert counts(engine)["goodwill_adjustments"] == 0


def test_a_double_submitted_form_grants_once(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "yan")
    with console_client(container) as console:
        token = signed_in(console, "yan")
        first = grant(console, token, member, "1500", request_key="form-1")
        second = grant(console, token, member, "1500", request_key="form-1")
        assert "1,500 miles applied" in first.text
        assert "1,500 miles applied" in second.text
    assert member_balance(engine, member) == 1500
    assert counts(engine)["goodwill_adjustments"] == 1


def test_goodwill_past_the_members_daily_limit_waits_even_within_the_agent_limit(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "dan")
    make_agent(container, "eve")
    with console_client(container) as console:
        token = signed_in(console, "dan")
        assert "5,000 miles applied" in grant(console, token, member, "5000").text
    with console_client(container) as other:  # another agent: the limit is the member's, not the agent's
        token = signed_in(other, "eve")
        assert "5,000 miles applied" in grant(other, token, member, "5000").text
        waiting = grant(other, token, member, "1")
        assert "wait for a supervisor" in waiting.text
    assert member_balance(engine, member) == 10_000
    with engine.connect() as c:
        details = c.execute(
            text("SELECT details FROM audit_log WHERE action = 'goodwill.requested'")
        ).scalar_one()
    assert details["granted_today"] == 10_000
    assert "daily limit" in details["waits"]
