"""Retention reports from the nightly segments: members lost per month with what preceded it (the latest of
a complaint, a downgrade and an expiry in the 12 months before; none), members won back with the promotion
their return flight earned, segment sizes at each month's last night, cohort retention, and each promotion's
cost against the members it reactivated; the API answers the same and refuses bad ranges naming the field."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.services import retention
from tests.integration.retention_data import build


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


def test_a_range_ending_at_the_calendars_last_month_is_refused_naming_the_field(client: TestClient) -> None:
    """9999-12 has no month after it: a 422 naming `to`, never a 500."""
    for params in ({"to": "9999-12"}, {"from": "9999-12", "to": "9999-12"}):
        answer = client.get("/v1/analytics/lost", params=params)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == "to"


def test_a_member_back_without_a_new_flight_is_not_credited_to_the_promotions_of_a_flight_before_the_lapse(
    client: TestClient, container: Container, engine: Engine
) -> None:
    """The return is a flight within the 12 months before the night they came back: a flight from before the
    lapse did not bring them back (they came back with a partner activity: `none`)."""
    data = build(client, engine)
    member = data["ids"]["returned"]  # flew 2026-10-10 (WELCOME-BACK), active again on 2026-10-12
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO segment_transitions (member_id, from_segment, to_segment, run_date) "
                "VALUES (:m, 'active', 'lapsed', '2027-10-12'), (:m, 'lapsed', 'active', '2027-11-20')"
            ),
            {"m": member},
        )
    months = retention.Months(date(2027, 11, 1), date(2027, 11, 1))
    back = {m.month: (m.won_back, m.promotions) for m in retention.won_back(container, months)}
    assert back == {"2027-11": (1, {"none": 1})}
    assert retention.promotion_returns(container, months)[1] == []  # WELCOME-BACK reactivated no one


def test_an_empty_month_is_refused_rather_than_read_as_the_default(client: TestClient) -> None:
    answer = client.get("/v1/analytics/won-back", params={"from": ""})
    assert answer.status_code == 422, answer.text
    assert (answer.json()["error"]["field"], answer.json()["error"]["code"]) == ("from", "invalid_month")
