"""Complaints and their goodwill (service recovery): recorded with or without a resolution and a goodwill,
resolved once, linked once, only to the member's own goodwill and only one complaint per goodwill; a bad
field is named and nothing is written; each change is in the audit trail. Through the services and the
member page's Complaints panel."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.domain.agents import Actor
from miles.domain.errors import Conflict, InvalidInput, NotFound
from miles.services.complaints import member_complaints, record_complaint, update_complaint
from tests.integration.console_helpers import (
    HTMX,
    console_client,
    counts,
    field_errors,
    make_agent,
    signed_in,
)
from tests.integration.factories import enrol

TABLES = ("complaints", "audit_log", "goodwill_adjustments", "idempotency_keys")


def goodwill(client: TestClient, member: str, miles: int = 1000) -> int:
    response = client.post(
        "/v1/adjustments",
        json={"member_number": member, "miles": miles, "reason_code": "delay", "comment": "ZZ12 late"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["adjustment_id"])


@pytest.fixture
def ana(container: Container) -> Actor:
    return make_agent(container, "ana")


def test_record_with_and_without_goodwill(
    container: Container, client: TestClient, engine: Engine, ana: Actor
) -> None:
    member = enrol(client)
    grant = goodwill(client, member, 1500)
    plain = record_complaint(container, ana, member, "baggage", "Bag lost on ZZ12\nstill missing")
    assert plain.open
    assert plain.goodwill_id is None
    assert plain.recorded_by == "ana"
    settled = record_complaint(container, ana, member, "delay", "Five hours late", "Apologised", grant)
    assert not settled.open
    assert settled.resolved_at == settled.recorded_at
    assert (settled.goodwill_id, settled.goodwill_miles, settled.goodwill_status) == (grant, 1500, "APPLIED")
    listed = member_complaints(container, member)
    assert [c.complaint_id for c in listed.complaints] == [settled.complaint_id, plain.complaint_id]
    assert listed.goodwill_options == []  # the one goodwill is linked now
    with engine.connect() as c:
        trail = c.execute(
            text(
                "SELECT action, actor, subject, details FROM audit_log WHERE action LIKE 'complaint.%' ORDER BY id"
            )
        ).all()
    assert [(t.action, t.actor) for t in trail] == [
        ("complaint.recorded", "ana"),
        ("complaint.recorded", "ana"),
    ]
    assert trail[1].subject == f"complaint:{settled.complaint_id}"
    assert trail[1].details == {"category": "delay", "resolved": True, "goodwill_id": grant}


def test_resolve_once_and_link_once(
    container: Container, client: TestClient, engine: Engine, ana: Actor
) -> None:
    member = enrol(client)
    first, second = goodwill(client, member), goodwill(client, member, 700)
    complaint = record_complaint(container, ana, member, "seat", "Seat did not recline")
    resolved = update_complaint(
        container, ana, member, complaint.complaint_id, resolution="Refunded the seat fee"
    )
    assert resolved.resolution == "Refunded the seat fee"
    assert resolved.resolved_at is not None
    with pytest.raises(Conflict) as again:
        update_complaint(container, ana, member, complaint.complaint_id, resolution="Another")
    assert (again.value.code, again.value.field) == ("already_resolved", "resolution")
    linked = update_complaint(container, ana, member, complaint.complaint_id, goodwill_id=first)
    assert linked.goodwill_id == first
    with pytest.raises(Conflict) as relink:
        update_complaint(container, ana, member, complaint.complaint_id, goodwill_id=second)
    assert relink.value.code == "complaint_already_linked"
    other = record_complaint(container, ana, member, "service", "Rude at the gate")
    with pytest.raises(Conflict) as taken:
        update_complaint(container, ana, member, other.complaint_id, goodwill_id=first)
    assert (taken.value.code, taken.value.field) == ("goodwill_already_linked", "goodwill_id")
    with pytest.raises(Conflict):
        record_complaint(container, ana, member, "delay", "Late", goodwill_id=first)
    with engine.connect() as c:
        row = c.execute(
            text("SELECT resolution, goodwill_id FROM complaints WHERE id = :i"),
            {"i": complaint.complaint_id},
        ).one()
        actions = (
            c.execute(text("SELECT action FROM audit_log WHERE action LIKE 'complaint.%' ORDER BY id"))
            .scalars()
            .all()
        )
    assert (row.resolution, row.goodwill_id) == ("Refunded the seat fee", first)
    assert actions == [
        "complaint.recorded",
        "complaint.resolved",
        "complaint.goodwill_linked",
        "complaint.recorded",
    ]


def test_another_members_goodwill_and_complaint_are_refused(
    container: Container, client: TestClient, engine: Engine, ana: Actor
) -> None:
    member, other = enrol(client), enrol(client, "Bob", "Other")
    theirs = goodwill(client, other)
    before = counts(engine, TABLES)
    with pytest.raises(InvalidInput) as caught:
        record_complaint(container, ana, member, "delay", "Late", goodwill_id=theirs)
    assert (caught.value.field, caught.value.code) == ("goodwill_id", "goodwill_not_members")
    with pytest.raises(InvalidInput):
        record_complaint(container, ana, member, "delay", "Late", goodwill_id=987654)
    assert counts(engine, TABLES) == before
    complaint = record_complaint(container, ana, other, "delay", "Late")
    with pytest.raises(NotFound) as not_theirs:
        update_complaint(container, ana, member, complaint.complaint_id, resolution="Done")
    assert not_theirs.value.code == "complaint_not_found"


def test_control_characters_are_refused_with_the_field_named_and_nothing_written(
    container: Container, client: TestClient, engine: Engine, ana: Actor
) -> None:
    member = enrol(client)
    before = counts(engine, TABLES)
    for description, resolution, field in (
        ("late\x00", None, "description"),
        ("late", "ok\x1b", "resolution"),
    ):
        with pytest.raises(InvalidInput) as caught:
            record_complaint(container, ana, member, "delay", description, resolution)
        assert (caught.value.field, caught.value.code) == (field, "invalid_text")
    assert counts(engine, TABLES) == before


def test_the_database_keeps_what_was_recorded(
    container: Container, client: TestClient, engine: Engine, ana: Actor
) -> None:
    member = enrol(client)
    complaint = record_complaint(container, ana, member, "delay", "Late", "Apologised")
    for statement in (
        "UPDATE complaints SET description = 'changed'",
        "UPDATE complaints SET resolution = 'changed'",
        "DELETE FROM complaints",
    ):
        with pytest.raises(Exception, match="complaint"), engine.begin() as c:
            c.execute(text(statement))
    assert member_complaints(container, member).complaints[0].description == complaint.description


# --- the member page's panel ----------------------------------------------------------------------------


def test_the_panel_records_a_complaint_with_its_goodwill_and_resolves_another(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    grant = goodwill(client, member, 2500)
    make_agent(container, "cleo")
    with console_client(container) as console:
        token = signed_in(console, "cleo")
        page = console.get(f"/console/members/{member}")
        assert 'id="complaints-panel"' in page.text
        assert "No complaints recorded." in page.text
        assert f'<option value="{grant}">2,500 miles' in page.text
        body = {
            "csrf_token": token,
            "request_key": "k-1",
            "category": "delay",
            "description": "Five hours late on ZZ12\r\nmissed the connection",
            "resolution": "Apologised, rebooked",
            "goodwill_id": str(grant),
        }
        done = console.post(f"/console/members/{member}/complaints", data=body, headers=HTMX)
        assert done.status_code == 200, done.text
        assert done.headers["HX-Trigger"] == "memberChanged"
        assert "recorded: resolved, with 2,500 goodwill miles" in done.text
        twice = console.post(f"/console/members/{member}/complaints", data=body, headers=HTMX)
        assert twice.status_code == 200  # the same request key: answered once
        open_one = console.post(
            f"/console/members/{member}/complaints",
            data={
                "csrf_token": token,
                "request_key": "k-2",
                "category": "seat",
                "description": "Broken seat",
            },
            headers=HTMX,
        )
        assert "recorded: open" in open_one.text
        with engine.connect() as c:
            open_id = c.execute(text("SELECT id FROM complaints WHERE category = 'seat'")).scalar_one()
        resolved = console.post(
            f"/console/members/{member}/complaints/{open_id}",
            data={"csrf_token": token, "resolution": "Moved to another seat"},
            headers=HTMX,
        )
        assert resolved.status_code == 200
        assert "updated: resolved" in resolved.text
        again = console.post(
            f"/console/members/{member}/complaints/{open_id}",
            data={"csrf_token": token, "resolution": "Again"},
            headers=HTMX,
        )
        assert again.status_code == 409
        assert f"Not sent: complaint {open_id} was already resolved" in again.text
        page = console.get(f"/console/members/{member}")
        assert "Five hours late on ZZ12" in page.text
        assert "Moved to another seat" in page.text
        assert "Complaint recorded" in page.text  # the member's audit trail
    with engine.connect() as c:
        rows = c.execute(text("SELECT category, recorded_by, goodwill_id FROM complaints ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("delay", "cleo", grant), ("seat", "cleo", None)]


def test_the_panel_refuses_bad_fields_next_to_them_and_writes_nothing(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member, other = enrol(client), enrol(client, "Bob", "Other")
    theirs = goodwill(client, other)
    make_agent(container, "dan")
    with console_client(container) as console:
        token = signed_in(console, "dan")
        before = counts(engine, TABLES)
        refused = console.post(
            f"/console/members/{member}/complaints",
            data={
                "csrf_token": token,
                "category": "food",
                "description": "late\x00",
                "resolution": "x" * 2001,
            },
            headers=HTMX,
        )
        assert refused.status_code == 422
        errors = field_errors(refused.text)
        assert set(errors) == {"category", "description", "resolution"}
        assert "U+0000" in errors["description"]
        foreign = console.post(
            f"/console/members/{member}/complaints",
            data={
                "csrf_token": token,
                "category": "delay",
                "description": "late",
                "goodwill_id": str(theirs),
            },
            headers=HTMX,
        )
        assert foreign.status_code == 422
        assert "goodwill_id" in field_errors(foreign.text)
        forged = console.post(
            f"/console/members/{member}/complaints",
            data={"category": "delay", "description": "late"},
            headers=HTMX,
        )
        assert forged.status_code == 403  # no CSRF token
        assert counts(engine, TABLES) == before


def test_managers_and_finance_neither_see_nor_post_the_panel(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "meg", role="manager")
    make_agent(container, "sam", role="supervisor")
    with console_client(container) as console:
        token = signed_in(console, "meg")
        assert 'id="complaints-panel"' not in console.get(f"/console/members/{member}").text
        refused = console.post(
            f"/console/members/{member}/complaints",
            data={"csrf_token": token, "category": "delay", "description": "late"},
            headers=HTMX,
        )
        assert refused.status_code == 403
    with console_client(container) as console:
        signed_in(console, "sam")
        assert 'id="complaints-panel"' in console.get(f"/console/members/{member}").text
    assert counts(engine, ("complaints",)) == {"complaints": 0}


def test_the_goodwill_select_is_read_afresh_after_a_grant(
    container: Container, client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    make_agent(container, "eve")
    with console_client(container) as console:
        signed_in(console, "eve")
        before = console.get(f"/console/members/{member}/complaints/goodwill", headers=HTMX)
        assert 'hx-trigger="memberChanged from:body"' in before.text
        assert "miles ·" not in before.text
        grant = goodwill(client, member, 800)
        after = console.get(f"/console/members/{member}/complaints/goodwill", headers=HTMX)
        assert f'<option value="{grant}">800 miles · Delay · applied' in after.text
        panel = console.get(f"/console/members/{member}/complaints", headers=HTMX)
        assert panel.text.startswith("<section") or 'id="complaints-panel"' in panel.text
        assert console.get(f"/console/members/{member}/complaints").status_code == 303
