"""Promotions over HTTP: a campaign's life from creation to end, the bonus in the accrual and the ledger,
bad campaigns refused naming the field, reversals giving back miles, limits and budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.domain.errors import ProgrammeError
from miles.programme.reading import reference_text
from miles.services.programmes import load_programme
from tests.integration.factories import coupon, enrol, row_counts


def campaign(code: str = "DBL-LHR", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": "Double miles to London",
        "trigger": "flight",
        "starts_on": "2026-09-01",
        "ends_on": "2026-12-31",
        "conditions": {"carriers": ["YY"], "routes": ["JFK-LHR"]},
        "effect": {"kind": "multiplier", "value": "2"},
        "limits": {"budget_miles": 1_000_000},
        "stacking_group": "route",
    }
    body.update(overrides)
    return body


def test_a_campaign_from_creation_to_end(client: TestClient, engine: Engine) -> None:
    created = client.post("/v1/promotions", json=campaign())
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "running"
    assert created.json()["budget_left"] == 1_000_000
    again = client.post("/v1/promotions", json=campaign())
    other = client.post("/v1/promotions", json=campaign(name="Another name"))
    assert (again.status_code, other.status_code) == (200, 409)
    assert other.json()["error"]["code"] == "promotion_exists"

    member = enrol(client)
    earned = client.post("/v1/accruals/flights", json=coupon(member))
    assert earned.status_code == 201, earned.text
    a = earned.json()
    assert a["promotion_miles"] == a["base_miles"] > 0
    assert a["promotions"] == [{"code": "DBL-LHR", "miles": a["base_miles"]}]
    assert a["award_miles"] == a["base_miles"] + a["tier_bonus_miles"] + a["promotion_miles"]
    other_way = client.post(
        "/v1/accruals/flights", json=coupon(member, origin="LHR", destination="JFK")
    ).json()
    assert other_way["promotion_miles"] == 0
    assert other_way["promotions"] == []

    with engine.connect() as c:
        transfer = c.execute(
            text(
                "SELECT t.amount, a.code FROM transfers t JOIN accounts a ON a.id = t.from_account_id "
                "WHERE t.code = 'promotion_bonus'"
            )
        ).one()
    assert tuple(transfer) == (a["promotion_miles"], "promotion")

    read = client.get("/v1/promotions/DBL-LHR").json()
    assert (read["awarded_miles"], read["members_rewarded"], read["bonuses"]) == (a["promotion_miles"], 1, 1)
    assert read["budget_left"] == 1_000_000 - a["promotion_miles"]
    replay = client.post("/v1/accruals/flights", json=json.loads(earned.request.content))
    assert replay.status_code == 200
    assert replay.json()["promotions"] == a["promotions"]

    ended = client.post("/v1/promotions/DBL-LHR/end")
    assert ended.status_code == 200
    assert ended.json()["status"] == "ended"
    after = client.post("/v1/accruals/flights", json=coupon(member)).json()
    assert after["promotion_miles"] == 0
    assert client.get("/v1/promotions/DBL-LHR").json()["awarded_miles"] == a["promotion_miles"]
    listed = client.get("/v1/promotions").json()["promotions"]
    assert [p["code"] for p in listed] == ["DBL-LHR"]


def test_in_a_batch_each_coupon_earns_the_promotions_its_own_route_meets(client: TestClient) -> None:
    assert client.post("/v1/promotions", json=campaign()).status_code == 201
    member = enrol(client)
    items = [
        coupon(member),
        coupon(member, origin="LHR", destination="JFK"),
        coupon(member),
        coupon(member, origin="QQQ"),
    ]
    results = client.post("/v1/accruals/flights/batch", json={"items": items}).json()["results"]
    assert [r["status"] for r in results] == ["created", "created", "created", "rejected"]
    promotions = [r["accrual"]["promotions"] for r in results[:3]]
    miles = results[0]["accrual"]["base_miles"]
    assert promotions == [[{"code": "DBL-LHR", "miles": miles}], [], [{"code": "DBL-LHR", "miles": miles}]]


def test_a_reversal_gives_back_the_miles_the_limit_and_the_budget(client: TestClient, engine: Engine) -> None:
    body = campaign(
        "FIXED-500",
        effect={"kind": "fixed", "miles": 500},
        limits={"per_member_times": 1, "budget_miles": 5000},
        conditions={},
        stacking_group=None,
    )
    assert client.post("/v1/promotions", json=body).status_code == 201
    member = enrol(client)
    first = client.post("/v1/accruals/flights", json=coupon(member)).json()
    second = client.post("/v1/accruals/flights", json=coupon(member)).json()
    assert (first["promotion_miles"], second["promotion_miles"]) == (500, 0)  # once per member
    assert client.get("/v1/promotions/FIXED-500").json()["budget_left"] == 4500
    before = client.get(f"/v1/members/{member}").json()["award_miles"]

    reversed_ = client.post(f"/v1/accruals/{first['accrual_id']}/reversal", json={"reason": "refund"})
    assert reversed_.status_code == 201, reversed_.text
    assert reversed_.json()["reversed_award_miles"] == first["award_miles"]
    assert client.get(f"/v1/members/{member}").json()["award_miles"] == before - first["award_miles"]
    figures = client.get("/v1/promotions/FIXED-500").json()
    assert (figures["budget_left"], figures["awarded_miles"], figures["members_rewarded"]) == (5000, 0, 0)
    again = client.post("/v1/accruals/flights", json=coupon(member)).json()
    assert again["promotion_miles"] == 500  # the per-member limit was given back too
    with engine.connect() as c:
        codes = c.execute(
            text("SELECT code, amount FROM transfers WHERE code LIKE 'promotion%' ORDER BY id")
        ).all()
    assert [tuple(r) for r in codes] == [
        ("promotion_bonus", 500),
        ("promotion_bonus_reversal", 500),
        ("promotion_bonus", 500),
    ]


def test_bad_campaigns_are_refused_naming_the_field_and_write_nothing(
    client: TestClient, engine: Engine
) -> None:
    before = row_counts(engine)
    cases: list[tuple[dict[str, Any], str]] = [
        (campaign(ends_on="2026-08-01"), "ends_on"),
        (campaign(audience={"tiers": ["DIAMOND"]}), "audience.tiers"),
        (campaign(conditions={"carriers": ["QQ"]}), "conditions.carriers"),
        (campaign(conditions={"origins": ["ZZZ"]}), "conditions.origins"),
        (campaign(conditions={"cabins": ["steerage"]}), "conditions.cabins"),
        (campaign(effect={"kind": "multiplier", "value": "1"}), "effect.value"),
        (campaign(effect={"kind": "percent", "value": "0"}), "effect.value"),
        (campaign(effect={"kind": "fixed", "miles": 0}), "effect.miles"),
        (campaign(effect={"kind": "fixed", "miles": 10_000_000}), "effect.miles"),
        (campaign(effect={"kind": "metric", "metric": "nope", "amount": "5"}), "effect.metric"),
        (campaign(limits={"budget_miles": 0}), "limits.budget_miles"),
        (campaign(limits={"per_member_times": -1}), "limits.per_member_times"),
        (campaign(trigger="challenge", challenge={"segments": 0}), "challenge.segments"),
        (campaign(trigger="birthday", effect={"kind": "fixed", "miles": 500}), "conditions"),
        (campaign(colour="red"), "colour"),
        (campaign(name="a\x00b"), "name"),
    ]
    for payload, field in cases:
        response = client.post("/v1/promotions", json=payload)
        assert response.status_code == 422, (payload, response.text)
        assert response.json()["error"]["field"] == field, (payload, response.text)
    assert row_counts(engine) == before


def test_registration_is_required_and_dated(client: TestClient) -> None:
    body = campaign(
        "REG-ONLY", registration_required=True, effect={"kind": "fixed", "miles": 250}, conditions={}
    )
    assert client.post("/v1/promotions", json=body).status_code == 201
    member = enrol(client)
    unregistered = client.post(
        "/v1/accruals/flights", json=coupon(member, departure_date="2026-11-20")
    ).json()
    assert unregistered["promotion_miles"] == 0
    registered = client.post("/v1/promotions/REG-ONLY/registrations", json={"member_number": member})
    again = client.post("/v1/promotions/REG-ONLY/registrations", json={"member_number": member})
    assert (registered.status_code, again.status_code) == (201, 200)
    assert registered.json()["registered_on"] == "2026-11-23"
    before_registration = client.post(
        "/v1/accruals/flights", json=coupon(member, departure_date="2026-11-22")
    )
    on_the_day = client.post("/v1/accruals/flights", json=coupon(member, departure_date="2026-11-23"))
    assert before_registration.json()["promotion_miles"] == 0
    assert on_the_day.json()["promotion_miles"] == 250
    mine = client.get(f"/v1/members/{member}/promotions").json()["promotions"]
    assert [(p["code"], p["registered_on"], p["miles"], p["times"]) for p in mine] == [
        ("REG-ONLY", "2026-11-23", 250, 1)
    ]
    no_registration = client.post("/v1/promotions", json=campaign("OPEN"))
    assert no_registration.status_code == 201
    refused = client.post("/v1/promotions/OPEN/registrations", json={"member_number": member})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "registration_not_required"


def test_a_rules_file_that_still_lists_promotions_is_refused(container: Container, tmp_path: Path) -> None:
    listed = reference_text().replace(
        "promotions: []",
        "promotions: [{code: SPRING, carriers: [YY], from_date: 2026-03-01, to_date: 2026-05-31, bonus_percent: 50}]",
    )
    assert listed != reference_text()
    path = tmp_path / "listed.yaml"
    path.write_text(listed, encoding="utf-8")
    with pytest.raises(ProgrammeError) as refused:
        load_programme(container, path)
    assert refused.value.problems == [
        ("versions[0].promotions", "promotions are campaigns now: create them with POST /v1/promotions")
    ]


def test_the_quote_is_the_accrual_that_follows_and_writes_nothing(client: TestClient, engine: Engine) -> None:
    assert client.post("/v1/promotions", json=campaign()).status_code == 201
    member = enrol(client)
    body = coupon(member)
    before = row_counts(engine)
    quoted = client.post("/v1/accruals/flights/quote", json=body)
    assert quoted.status_code == 200, quoted.text
    assert row_counts(engine) == before
    accrued = client.post("/v1/accruals/flights", json=body).json()
    q = quoted.json()
    assert q["promotions"] == accrued["promotions"] == [{"code": "DBL-LHR", "miles": accrued["base_miles"]}]
    assert {k: v for k, v in accrued.items() if k not in ("accrual_id", "balance_after")} == q
    again = client.post("/v1/accruals/flights/quote", json=body)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "coupon_already_accrued"
    ahead = client.post("/v1/accruals/flights/quote", json=coupon(member, departure_date="2027-06-01"))
    assert ahead.status_code == 200, ahead.text
    assert ahead.json()["promotion_miles"] == 0  # the campaign ends on 2026-12-31
    too_far = client.post("/v1/accruals/flights/quote", json=coupon(member, departure_date="2028-06-01"))
    assert too_far.status_code == 422
    assert too_far.json()["error"]["field"] == "departure_date"


def test_a_punch_card_pays_every_third_segment_and_a_reversal_takes_back_the_run_it_completed(
    client: TestClient,
) -> None:
    card = campaign(
        "PUNCH-3",
        trigger="challenge",
        challenge={"segments": 3, "repeat": True},
        effect={"kind": "fixed", "miles": 1000},
        conditions={},
        limits={},
        stacking_group=None,
    )
    assert client.post("/v1/promotions", json=card).status_code == 201
    member = enrol(client)
    earned = [client.post("/v1/accruals/flights", json=coupon(member)).json() for _ in range(6)]
    assert [a["promotion_miles"] for a in earned] == [0, 0, 1000, 0, 0, 1000]
    progress = client.get(f"/v1/members/{member}/promotions").json()["promotions"][0]
    assert (progress["segments"], progress["times"], progress["segments_to_next"]) == (6, 2, 3)

    # the coupon that completed the second run is refunded: its bonus goes, and the run is open again
    assert (
        client.post(f"/v1/accruals/{earned[5]['accrual_id']}/reversal", json={"reason": "refund"}).status_code
        == 201
    )
    progress = client.get(f"/v1/members/{member}/promotions").json()["promotions"][0]
    assert (progress["segments"], progress["times"], progress["miles"]) == (5, 1, 1000)
    assert client.post("/v1/accruals/flights", json=coupon(member)).json()["promotion_miles"] == 1000
    # a coupon that completed nothing is refunded: one segment less, no bonus taken back
    assert (
        client.post(f"/v1/accruals/{earned[0]['accrual_id']}/reversal", json={"reason": "refund"}).status_code
        == 201
    )
    progress = client.get(f"/v1/members/{member}/promotions").json()["promotions"][0]
    assert (progress["segments"], progress["times"], progress["miles"]) == (5, 2, 2000)
    # the next coupon fills the gap (6 segments, two runs paid); the third run ends at the 9th
    later = [client.post("/v1/accruals/flights", json=coupon(member)).json() for _ in range(4)]
    assert [a["promotion_miles"] for a in later] == [0, 0, 0, 1000]


def test_the_welcome_bonus_goes_with_the_first_earning_coupon_only(client: TestClient) -> None:
    welcome = campaign(
        "WELCOME",
        trigger="enrolment",
        audience={"enrolled_within_days": 30},
        effect={"kind": "fixed", "miles": 2000},
        conditions={},
        limits={},
        stacking_group=None,
    )
    assert client.post("/v1/promotions", json=welcome).status_code == 201
    member = enrol(client)  # enrolled today, 2026-11-23
    first = client.post("/v1/accruals/flights", json=coupon(member, departure_date="2026-11-20")).json()
    second = client.post("/v1/accruals/flights", json=coupon(member, departure_date="2026-11-21")).json()
    assert (first["promotion_miles"], second["promotion_miles"]) == (2000, 0)


def test_a_qualifying_metric_bonus_counts_towards_the_tier(client: TestClient) -> None:
    member = enrol(client)
    plain_coupon = client.post("/v1/accruals/flights/quote", json=coupon(member)).json()
    own = plain_coupon["qualifying"]["status_miles"]
    boost = campaign(
        "STATUS-BOOST",
        effect={"kind": "metric", "metric": "status_miles", "amount": "10000"},
        conditions={},
        limits={"per_member_times": 2},
        stacking_group=None,
    )
    assert client.post("/v1/promotions", json=boost).status_code == 201
    first = client.post("/v1/accruals/flights", json=coupon(member)).json()
    assert first["promotions"] == [{"code": "STATUS-BOOST", "miles": 0}]
    assert first["promotion_miles"] == 0
    assert first["qualifying"]["status_miles"] == own + 10000
    second = client.post("/v1/accruals/flights", json=coupon(member)).json()
    assert 2 * (own + 10000) >= 25000 > 2 * own  # SILVER's threshold, reached thanks to the bonus
    assert (first["tier_after"], second["tier_after"]) == ("BLUE", "SILVER")
