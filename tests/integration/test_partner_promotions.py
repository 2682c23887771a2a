"""Promotions with the trigger `partner`: a bonus on partner activities when their miles post (at once, or
at night for a pending stay), within limits and budget, taken back with the activity's reversal; never
on a flown coupon; bad partner campaigns refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.integration.factories import coupon, enrol


def campaign(code: str = "CAR-DOUBLE", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": "Double miles on rentals",
        "trigger": "partner",
        "starts_on": "2026-11-01",
        "ends_on": "2026-12-31",
        "conditions": {"partners": ["CAR"]},
        "effect": {"kind": "multiplier", "value": "2"},
        "limits": {"budget_miles": 1200},
    }
    body.update(overrides)
    return body


def rental(member: str, activity_id: str, day: str = "2026-11-22", days: int = 4) -> dict[str, Any]:
    return {"member_number": member, "activity_id": activity_id, "activity_date": day, "days": days}


def balance(client: TestClient, member: str) -> int:
    return int(client.get(f"/v1/members/{member}").json()["award_miles"])


def test_a_partner_campaign_doubles_rentals_within_its_budget_and_a_reversal_gives_it_back(
    client: TestClient, engine: Engine
) -> None:
    assert client.post("/v1/promotions", json=campaign()).status_code == 201
    member = enrol(client)
    assert client.post("/v1/partners/CAR/activities", json=rental(member, "R-1")).status_code == 201
    assert balance(client, member) == 2000
    # the budget of 1,200 has 200 left: the second rental's bonus is cut to it
    assert client.post("/v1/partners/CAR/activities", json=rental(member, "R-2")).status_code == 201
    assert balance(client, member) == 2000 + 1200
    # a rental dated before the campaign, a card purchase and a flown coupon earn no partner bonus
    assert (
        client.post("/v1/partners/CAR/activities", json=rental(member, "R-0", "2026-10-30", 1)).status_code
        == 201
    )
    card = {
        "member_number": member,
        "activity_id": "C-1",
        "activity_date": "2026-11-22",
        "amount": {"amount": "100.00", "currency": "USD"},
    }
    assert client.post("/v1/partners/CARD/activities", json=card).status_code == 201
    flown = client.post("/v1/accruals/flights", json=coupon(member)).json()
    assert flown["promotions"] == []
    figures = client.get("/v1/promotions/CAR-DOUBLE").json()
    assert (figures["awarded_miles"], figures["budget_left"], figures["bonuses"]) == (1200, 0, 2)
    before = balance(client, member)
    statement = client.get(f"/v1/members/{member}/statement").json()["transfers"]
    bonuses = [
        (line["promotion"], line["partner"], line["miles"])
        for line in statement
        if line["code"] == "promotion_bonus"
    ]
    assert sorted(bonuses) == [("CAR-DOUBLE", "CAR", 200), ("CAR-DOUBLE", "CAR", 1000)]

    assert client.post("/v1/partners/CAR/activities/R-1/reversal", json={}).status_code == 201
    assert balance(client, member) == before - 2000
    figures = client.get("/v1/promotions/CAR-DOUBLE").json()
    assert (figures["awarded_miles"], figures["budget_left"]) == (200, 1000)
    with engine.connect() as c:
        reversed_ = c.execute(
            text(
                "SELECT count(*) FROM promotion_awards WHERE reverses_award_id IS NOT NULL AND partner_activity_id IS NOT NULL"
            )
        ).scalar()
    assert reversed_ == 1


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"conditions": {"partners": ["SPA"]}}, "conditions.partners", "unknown_partners"),
        (
            {"conditions": {"partners": ["CAR"], "activity_kinds": ["stay"]}},
            "conditions.activity_kinds",
            "unknown_activity_kinds",
        ),
        ({"conditions": {"partners": ["CAR"], "carriers": ["YY"]}}, "conditions", None),
        ({"trigger": "flight"}, "conditions.partners", None),
        ({"effect": {"kind": "metric", "metric": "status_miles", "amount": "100"}}, "effect.kind", None),
    ],
)
def test_bad_partner_campaigns_are_refused_naming_the_field(
    client: TestClient, overrides: dict[str, Any], field: str, code: str | None
) -> None:
    answer = client.post("/v1/promotions", json=campaign(**overrides))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    if code is not None:
        assert answer.json()["error"]["code"] == code
