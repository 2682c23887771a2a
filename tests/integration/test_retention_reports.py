"""Retention reports from the nightly segments: members lost per month with what preceded it (the latest of
a complaint, a downgrade and an expiry in the 12 months before; none), members won back with the promotion
their return flight earned, segment sizes at each month's last night, cohort retention, and each promotion's
cost against the members it reactivated; the API answers the same and refuses bad ranges naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from miles.bootstrap import Container
from miles.services import retention
from tests.integration.factories import coupon, enrol


def member_id(c: Connection, number: str) -> int:
    return int(c.execute(text("SELECT id FROM members WHERE member_number = :n"), {"n": number}).scalar_one())


def transition(c: Connection, member: int, before: str | None, after: str, night: date) -> None:
    c.execute(
        text(
            "INSERT INTO segment_transitions (member_id, from_segment, to_segment, run_date) VALUES (:m, :f, :t, :d)"
        ),
        {"m": member, "f": before, "t": after, "d": night},
    )


def complaint(c: Connection, member: int, on: date) -> None:
    c.execute(
        text(
            "INSERT INTO complaints (member_id, category, description, recorded_by, recorded_at) "
            "VALUES (:m, 'delay', 'late', 'test', :at)"
        ),
        {"m": member, "at": datetime(on.year, on.month, on.day, 12, tzinfo=UTC)},
    )


def downgrade(c: Connection, member: int, on: date) -> None:
    c.execute(
        text(
            "INSERT INTO tier_changes (member_id, from_tier, to_tier, reason, created_at) "
            "VALUES (:m, 'GOLD', 'SILVER', 'requalified', :at)"
        ),
        {"m": member, "at": datetime(on.year, on.month, on.day, 3, tzinfo=UTC)},
    )


def expiry(c: Connection, member: int, on: date) -> None:
    """100 goodwill miles, then their expiry, on `on`: two balanced transfers that leave the member's balance
    as it was (the report reads the expiry transfer)."""
    for code, source, target in (("goodwill", "goodwill", None), ("expiry", None, "expired")):
        c.execute(
            text(
                """
                WITH p AS (SELECT id FROM accounts WHERE code = :programme AND shard = 0),
                m AS (SELECT id FROM accounts WHERE member_id = :m),
                t AS (
                    INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, posted_at)
                    SELECT CASE WHEN :outgoing THEN m.id ELSE p.id END, CASE WHEN :outgoing THEN p.id ELSE m.id END,
                           100, :code, :at, :at FROM p, m RETURNING id, from_account_id, to_account_id
                ), e AS (
                    INSERT INTO entries (transfer_id, account_id, amount)
                    SELECT id, from_account_id, -100 FROM t UNION ALL SELECT id, to_account_id, 100 FROM t
                )
                UPDATE accounts SET balance = balance + CASE WHEN id = (SELECT to_account_id FROM t) THEN 100 ELSE -100 END
                WHERE id IN ((SELECT from_account_id FROM t), (SELECT to_account_id FROM t))
                """
            ),
            {
                "m": member,
                "programme": source or target,
                "outgoing": target is not None,
                "code": code,
                "at": datetime(on.year, on.month, on.day, 3, tzinfo=UTC),
            },
        )


def build(client: TestClient, engine: Engine) -> dict[str, Any]:
    created = client.post(
        "/v1/promotions",
        json={
            "code": "WELCOME-BACK",
            "name": "Welcome back",
            "trigger": "flight",
            "starts_on": "2026-09-01",
            "ends_on": "2026-12-31",
            "conditions": {"carriers": ["YY"]},
            "effect": {"kind": "fixed", "miles": 2000},
        },
    )
    assert created.status_code == 201, created.text
    names = ["complained", "downgraded", "expired", "quiet", "old_complaint", "returned", "returned_plain"]
    numbers = {name: enrol(client, name.title(), "Member") for name in names}
    returned = client.post(
        "/v1/accruals/flights", json=coupon(numbers["returned"], departure_date="2026-10-10")
    )
    assert returned.json()["promotions"] == [{"code": "WELCOME-BACK", "miles": 2000}], returned.text
    with engine.begin() as c:
        ids = {name: member_id(c, n) for name, n in numbers.items()}
        complaint(c, ids["complained"], date(2026, 9, 1))
        downgrade(
            c, ids["complained"], date(2026, 8, 1)
        )  # earlier than the complaint: the complaint is latest
        downgrade(c, ids["downgraded"], date(2026, 9, 30))
        expiry(c, ids["downgraded"], date(2026, 9, 30))  # same day: the downgrade outranks the expiry
        expiry(c, ids["expired"], date(2026, 10, 1))
        complaint(c, ids["old_complaint"], date(2025, 9, 1))  # more than 12 months before: none
        for name in ("complained", "downgraded", "expired", "quiet", "old_complaint"):
            transition(c, ids[name], None, "active", date(2026, 9, 1))
        for name, night in (
            ("complained", date(2026, 10, 5)),
            ("downgraded", date(2026, 10, 6)),
            ("expired", date(2026, 11, 2)),
            ("quiet", date(2026, 11, 3)),
            ("old_complaint", date(2026, 11, 4)),
        ):
            transition(c, ids[name], "active", "lost", night)
        for name in ("returned", "returned_plain"):
            transition(c, ids[name], None, "lapsed", date(2026, 9, 1))
            transition(c, ids[name], "lapsed", "active", date(2026, 10, 12))
        for night, counts in (
            (date(2026, 10, 30), (2, 5)),
            (date(2026, 10, 31), (3, 4)),
            (date(2026, 11, 30), (1, 6)),
        ):
            for name, members in zip(("active", "lost"), counts, strict=True):
                c.execute(
                    text("INSERT INTO segment_counts (run_date, name, members) VALUES (:d, :n, :m)"),
                    {"d": night, "n": name, "m": members},
                )
    return {"ids": ids, "numbers": numbers}


def test_members_lost_per_month_with_the_latest_cause_before_it(
    client: TestClient, container: Container, engine: Engine
) -> None:
    build(client, engine)
    months = retention.Months(date(2026, 9, 1), date(2026, 11, 1))
    lost = {m.month: (m.lost, m.causes) for m in retention.lost_members(container, months)}
    assert lost == {
        "2026-09": (0, {"complaint": 0, "downgrade": 0, "expiry": 0, "none": 0}),
        "2026-10": (2, {"complaint": 1, "downgrade": 1, "expiry": 0, "none": 0}),
        "2026-11": (3, {"complaint": 0, "downgrade": 0, "expiry": 1, "none": 2}),
    }


def test_members_won_back_with_the_promotion_their_return_flight_earned(
    client: TestClient, container: Container, engine: Engine
) -> None:
    build(client, engine)
    months = retention.Months(date(2026, 10, 1), date(2026, 11, 1))
    back = {m.month: (m.won_back, m.promotions) for m in retention.won_back(container, months)}
    assert back == {"2026-10": (2, {"WELCOME-BACK": 1, "none": 1}), "2026-11": (0, {})}
    currency, promotions = retention.promotion_returns(container, months)
    assert currency == "USD"
    [welcome] = promotions
    assert (welcome.code, welcome.miles_awarded, welcome.members_awarded, welcome.members_reactivated) == (
        "WELCOME-BACK",
        2000,
        1,
        1,
    )
    assert (welcome.cost, welcome.cost_per_reactivated) == ("24.00", "24.00")  # 2,000 x 0.012


def test_segment_sizes_at_each_months_last_night_and_cohort_retention(
    client: TestClient, container: Container, engine: Engine
) -> None:
    build(client, engine)
    history = retention.segment_history(container, retention.Months(date(2026, 10, 1), date(2026, 11, 1)))
    assert [(p.date, p.counts["active"], p.counts["lost"]) for p in history] == [
        ("2026-10-31", 3, 4),
        ("2026-11-30", 1, 6),
    ]
    with engine.begin() as c:  # the cohort's last night: November's
        c.execute(text("UPDATE members SET created_at = '2026-09-01T10:00:00Z'"))
    [cohort] = retention.cohort_retention(container, retention.Months(date(2026, 9, 1), date(2026, 9, 1)), 3)
    # end of September: all 7 segmented, 5 active and 2 lapsed; October: 5 active (2 back), 2 lost;
    # November: 2 active, 5 lost
    assert (cohort.enrolment_month, cohort.members) == ("2026-09", 7)
    assert cohort.retained == ["0.7143", "0.7143", "0.2857"]


def test_the_api_answers_the_reports_and_refuses_bad_ranges_naming_the_field(
    client: TestClient, engine: Engine
) -> None:
    build(client, engine)
    lost = client.get("/v1/analytics/lost", params={"from": "2026-10", "to": "2026-11"})
    assert lost.status_code == 200, lost.text
    assert [m["lost"] for m in lost.json()["months"]] == [2, 3]
    back = client.get("/v1/analytics/won-back", params={"from": "2026-10", "to": "2026-10"}).json()
    assert back["months"] == [
        {"month": "2026-10", "won_back": 2, "promotions": {"WELCOME-BACK": 1, "none": 1}}
    ]
    history = client.get("/v1/analytics/segments/history", params={"from": "2026-11", "to": "2026-11"}).json()
    assert history["points"][0]["counts"]["lost"] == 6
    promotions = client.get("/v1/analytics/promotions", params={"from": "2026-10", "to": "2026-10"}).json()
    assert promotions["promotions"][0]["members_reactivated"] == 1
    assert client.get("/v1/analytics/cohorts").status_code == 200
    for params, field, code in (
        ({"from": "2026-13"}, "from", "invalid_month"),
        ({"from": "2026-11", "to": "2026-10"}, "from", "reversed_range"),
        ({"from": "2020-01", "to": "2026-10"}, "from", "range_too_long"),
    ):
        answer = client.get("/v1/analytics/lost", params=params)
        assert answer.status_code == 422, answer.text
        assert (answer.json()["error"]["field"], answer.json()["error"]["code"]) == (field, code)
