"""Pending partner miles post by themselves: the nightly run posts each stay once on the day its pending
period ends (never before, never twice, never after its reversal); the member sees them pending, then in
the balance and on the statement with the partner's name; they count as activity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.api.app import create_app
from miles.bootstrap import Container
from miles.programme.reading import reference_text
from miles.services.nightly.chunks import ChunkOutcome, chunk_job
from miles.services.nightly.runs import start_run
from miles.services.programmes import load_programme
from tests.integration.conftest import make_key
from tests.integration.nightly_data import (
    MemberSpec,
    load_inactivity_programme,
    night_runner,
    run_night,
    seed,
)


@pytest.fixture
def night(database_url: str) -> Iterator[Container]:
    with night_runner(database_url, chunk_size=2) as container:
        container.clock.at = container.clock.at.replace(year=2026, month=11, day=23)  # type: ignore[attr-defined]
        yield container


@pytest.fixture
def api(night: Container) -> Iterator[TestClient]:
    with TestClient(create_app(night)) as client:
        scopes = ["member:write", "member:read", "partner:write"]
        client.headers["Authorization"] = f"Bearer {make_key(night, scopes)}"
        yield client


def _enrol(api: TestClient) -> str:
    body = {"given_name": "P", "family_name": "Stay", "email": "p@stay.example"}
    response = api.post("/v1/members", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["member_number"])


def _stay(api: TestClient, member: str, activity_id: str, check_out: str, nights: int) -> dict[str, object]:
    body = {"member_number": member, "activity_id": activity_id, "activity_date": check_out, "nights": nights}
    answer = api.post("/v1/partners/HTL/activities", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _night(night: Container, day: date) -> None:
    """The clock moved to the night's 03:00, then its run."""
    night.clock.at = night.clock.at.replace(year=day.year, month=day.month, day=day.day)  # type: ignore[attr-defined]
    run_night(night, day)


def _member(api: TestClient, member: str) -> dict[str, object]:
    return dict(api.get(f"/v1/members/{member}").json())


def test_pending_stays_post_once_on_the_day_their_period_ends(
    api: TestClient, night: Container, engine: Engine
) -> None:
    members = [_enrol(api) for _ in range(5)]
    for i, member in enumerate(members):
        assert _stay(api, member, f"S-{i}", "2026-11-20", i + 1)["posts_on"] == "2026-12-04"
    cancelled = _stay(api, members[0], "S-X", "2026-11-21", 2)
    assert api.post("/v1/partners/HTL/activities/S-X/reversal", json={}).json()["status"] == "cancelled"
    assert cancelled["posts_on"] == "2026-12-05"
    assert _member(api, members[2])["partner_pending_miles"] == 1500
    assert _member(api, members[2])["award_miles"] == 0

    _night(night, date(2026, 12, 3))
    assert [_member(api, m)["award_miles"] for m in members] == [0] * 5

    _night(night, date(2026, 12, 4))
    first = start_run(night, date(2026, 12, 4))  # joins the night's run
    for chunk_no in range(first.chunks):  # every chunk delivered again: nothing changes
        assert chunk_job(night, run_id=first.run_id, chunk_no=chunk_no) == ChunkOutcome.ALREADY_DONE.value
    assert [_member(api, m)["award_miles"] for m in members] == [500, 1000, 1500, 2000, 2500]
    assert [_member(api, m)["partner_pending_miles"] for m in members] == [0] * 5
    _night(night, date(2026, 12, 5))  # the cancelled stay's day: it never posts
    assert _member(api, members[0])["award_miles"] == 500
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT status, posted_on, posted_month FROM partner_activities ORDER BY id")
        ).all()
        assert [tuple(r) for r in rows] == [("posted", date(2026, 12, 4), date(2026, 12, 1))] * 5 + [
            ("cancelled", None, None)
        ]
        activity = c.execute(
            text("SELECT last_activity_date FROM members WHERE member_number = :n"), {"n": members[1]}
        ).scalar()
        assert activity == date(2026, 11, 20)
        lots = c.execute(text("SELECT earned_date, expires_date FROM lots ORDER BY id LIMIT 1")).one()
        assert tuple(lots) == (date(2026, 11, 20), date(2029, 11, 30))
        # posted on the process's clock (the night's), not the database's
        posted = c.execute(
            text("SELECT DISTINCT posted_at FROM transfers WHERE code = 'partner_accrual'")
        ).scalars()
        assert list(posted) == [datetime(2026, 12, 4, 3, 0, tzinfo=UTC)]

    statement = api.get(f"/v1/members/{members[1]}/statement").json()["transfers"]
    assert [(line["code"], line["miles"], line["description"]) for line in statement] == [
        ("partner_accrual", 1000, "Partner miles: Aurora Hotels (HTL)")
    ]
    # reversed after posting: taken back by a reversing transfer
    back = api.post("/v1/partners/HTL/activities/S-1/reversal", json={"reason": "no show"})
    assert back.json()["status"] == "reversed"
    assert _member(api, members[1])["award_miles"] == 0


def test_a_contract_s_qualifying_credits_count_when_the_stay_posts_and_go_when_it_is_reversed(
    api: TestClient, night: Container, engine: Engine, tmp_path: Path
) -> None:
    rules = tmp_path / "credits.yaml"
    rules.write_text(
        reference_text().replace(
            "stay: {per_night: 500}", 'stay: {per_night: 500, credits: {status_miles: "250", segments: "1"}}'
        )
    )
    load_programme(night, rules)
    night.catalog.forget()
    member = _enrol(api)
    _stay(api, member, "S-1", "2026-11-01", 1)  # posts at once: 14 days are over
    _stay(api, member, "S-2", "2026-11-20", 2)  # pending until 2026-12-04
    qualifying = _member(api, member)["qualifying"]
    assert (qualifying["status_miles"], qualifying["segments"]) == (250, 1)
    _night(night, date(2026, 12, 4))
    qualifying = _member(api, member)["qualifying"]
    assert (qualifying["status_miles"], qualifying["segments"]) == (500, 2)
    with engine.connect() as c:
        assert c.execute(text("SELECT lifetime_total FROM members")).scalar() == 500
    assert api.post("/v1/partners/HTL/activities/S-1/reversal", json={}).status_code == 201
    qualifying = _member(api, member)["qualifying"]
    assert (qualifying["status_miles"], qualifying["segments"]) == (250, 1)
    with engine.connect() as c:
        assert c.execute(text("SELECT lifetime_total FROM members")).scalar() == 250


def test_a_pending_stay_earns_the_partner_campaign_running_when_it_posts(
    api: TestClient, night: Container, engine: Engine
) -> None:
    promotion = {
        "code": "HTL-BONUS",
        "name": "1,000 more per stay",
        "trigger": "partner",
        "starts_on": "2026-11-01",
        "ends_on": "2026-12-31",
        "conditions": {"partners": ["HTL"], "activity_kinds": ["stay"]},
        "effect": {"kind": "fixed", "miles": 1000},
        "limits": {"per_member_times": 1},
    }
    scopes = ["promotion:write", "member:read"]
    created = api.post(
        "/v1/promotions", json=promotion, headers={"Authorization": f"Bearer {make_key(night, scopes)}"}
    )
    assert created.status_code == 201, created.text
    member = _enrol(api)
    _stay(api, member, "S-1", "2026-11-20", 1)
    _stay(api, member, "S-2", "2026-11-20", 2)
    assert _member(api, member)["award_miles"] == 0
    _night(night, date(2026, 12, 4))
    # both stays post; the bonus once (per_member_times 1), on the first in id order
    assert _member(api, member)["award_miles"] == 500 + 1000 + 1000
    with engine.connect() as c:
        awarded = c.execute(text("SELECT partner_activity_id, miles FROM promotion_awards")).all()
    assert [tuple(a) for a in awarded] == [(1, 1000)]


def test_partner_miles_keep_an_inactive_member_s_miles_alive(
    api: TestClient, night: Container, engine: Engine, tmp_path: Path
) -> None:
    load_inactivity_programme(night, tmp_path)  # miles go 24 months after the last activity
    quiet, renting = seed(
        engine,
        [
            MemberSpec(lots=[(date(2024, 10, 1), None, 3000)], last_activity_date=date(2024, 10, 1)),
            MemberSpec(lots=[(date(2024, 10, 1), None, 3000)], last_activity_date=date(2024, 10, 1)),
        ],
    )
    rental = {"member_number": renting.number, "activity_id": "R-1", "activity_date": "2026-11-22", "days": 1}
    assert api.post("/v1/partners/CAR/activities", json=rental).status_code == 201
    _night(night, date(2026, 12, 4))
    assert _member(api, quiet.number)["award_miles"] == 0
    assert _member(api, renting.number)["award_miles"] == 3000 + 250
