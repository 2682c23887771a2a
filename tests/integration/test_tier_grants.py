"""Tier grants (status match) over HTTP: the tier applies at once, in the history and the audit trail."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.integration.conftest import make_key
from tests.integration.factories import enrol, row_counts


def test_a_status_match_sets_the_tier_at_once_with_its_history_and_audit(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    response = client.post(
        f"/v1/members/{member}/tier",
        json={"tier": "GOLD", "reason": "status_match", "comment": "matched from another airline"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # the clock is 2026-11-23: a tier earned in 2026 is valid to the end of February 2028
    assert (body["tier"], body["tier_valid_until"]) == ("GOLD", "2028-02-29")
    assert client.get(f"/v1/members/{member}").json()["tier"] == "GOLD"
    with engine.connect() as c:
        history = c.execute(
            text(
                "SELECT from_tier, to_tier, valid_until::text, reason FROM tier_changes t "
                "JOIN members m ON m.id = t.member_id WHERE m.member_number = :n"
            ),
            {"n": member},
        ).one()
        audit = c.execute(
            text("SELECT action, reason, details->>'to' FROM audit_log WHERE subject = :n"), {"n": member}
        ).one()
    assert history[:3] == ("BLUE", "GOLD", "2028-02-29")
    assert history[3].startswith("status match: granted by api:test (matched from another airline)")
    assert tuple(audit) == ("member.tier_granted", "status_match", "GOLD")


def test_a_grant_with_its_own_valid_until_and_a_replay(client: TestClient, engine: Engine) -> None:
    member = enrol(client)
    body = {"tier": "SILVER", "reason": "challenge", "valid_until": "2027-06-30"}
    first = client.post(f"/v1/members/{member}/tier", json=body, headers={"Idempotency-Key": "g-1"})
    before = row_counts(engine)
    again = client.post(f"/v1/members/{member}/tier", json=body, headers={"Idempotency-Key": "g-1"})
    other = client.post(
        f"/v1/members/{member}/tier", json=body | {"tier": "GOLD"}, headers={"Idempotency-Key": "g-1"}
    )
    assert (first.status_code, again.status_code, other.status_code) == (200, 200, 409)
    assert first.json()["tier_valid_until"] == "2027-06-30"
    assert again.json() == first.json()
    assert row_counts(engine) == before


def test_bad_grants_are_refused_naming_the_field_and_write_nothing(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    before = row_counts(engine)
    cases = [
        ({"tier": "DIAMOND", "reason": "status_match"}, "tier", "unknown_tier"),
        ({"tier": "GOLD", "reason": "because"}, "reason", None),
        (
            {"tier": "GOLD", "reason": "correction", "valid_until": "2020-01-01"},
            "valid_until",
            "invalid_date",
        ),
        (
            {"tier": "GOLD", "reason": "correction", "valid_until": "2999-01-01"},
            "valid_until",
            "invalid_date",
        ),
        ({"tier": "BLUE", "reason": "correction", "valid_until": "2027-01-01"}, "valid_until", None),
        ({"tier": "GOLD", "reason": "correction", "comment": "a\x00b"}, "comment", None),
        ({"tier": "GOLD", "reason": "correction", "extra": 1}, "extra", None),
    ]
    for payload, field, code in cases:
        response = client.post(f"/v1/members/{member}/tier", json=payload)
        assert response.status_code == 422, (payload, response.text)
        error = response.json()["error"]
        assert error["field"] == field, (payload, error)
        if code:
            assert error["code"] == code
    assert (
        client.post("/v1/members/9999999981/tier", json={"tier": "GOLD", "reason": "correction"}).status_code
        == 404
    )
    assert row_counts(engine) == before


def test_a_grant_needs_the_admin_scope(client: TestClient, container: object) -> None:
    member = enrol(client)
    key = make_key(container, ["member:read", "member:write"])  # type: ignore[arg-type]
    response = client.post(
        f"/v1/members/{member}/tier",
        json={"tier": "GOLD", "reason": "status_match"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
