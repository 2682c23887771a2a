"""Partner activities over HTTP: Aurora's three contracts earning as worked by hand, pending vs posted by
date, replays and conflicts, reversals before and after posting, partner-bound keys, batch results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.api.app import create_app
from miles.bootstrap import Container
from miles.programme.reading import reference_text
from miles.services.apikeys import create_key
from miles.services.programmes import load_programme
from tests.integration.factories import enrol


def stay(member: str, activity_id: str = "H-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "member_number": member,
        "activity_id": activity_id,
        "activity_date": "2026-11-20",
        "nights": 3,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def balance(client: TestClient, member: str) -> int:
    return int(client.get(f"/v1/members/{member}").json()["award_miles"])


@pytest.fixture
def hotel(container: Container) -> Iterator[TestClient]:
    """A client with a key bound to the hotel partner HTL."""
    token = create_key(container, "hotel system", ["partner:write"], partner="HTL")
    with TestClient(create_app(container)) as tc:
        tc.headers["Authorization"] = f"Bearer {token}"
        yield tc


def test_a_hotel_stay_is_pending_for_14_days_after_check_out_then_counts(
    client: TestClient, hotel: TestClient
) -> None:
    member = enrol(client)
    # the clock is 2026-11-23: a check-out on 2026-11-20 posts on 2026-12-04
    answer = hotel.post("/v1/partners/HTL/activities", json=stay(member))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["miles"], body["status"], body["posts_on"]) == (1500, "pending", "2026-12-04")
    assert body["partner_name"] == "Aurora Hotels"
    assert balance(client, member) == 0
    # a check-out 14 days ago or more posts at once
    old = hotel.post(
        "/v1/partners/HTL/activities", json=stay(member, "H-2", activity_date="2026-11-09", nights=1)
    )
    assert old.status_code == 201, old.text
    assert (old.json()["miles"], old.json()["status"], old.json()["posts_on"]) == (500, "posted", None)
    assert balance(client, member) == 500


def test_car_and_card_earn_as_their_contracts_say(client: TestClient) -> None:
    member = enrol(client)
    car = client.post(
        "/v1/partners/CAR/activities",
        json={"member_number": member, "activity_id": "R-1", "activity_date": "2026-11-22", "days": 4},
    )
    assert car.status_code == 201, car.text
    assert (car.json()["miles"], car.json()["status"]) == (1000, "posted")
    # 123.45 EUR x 1.08 = 133.326 USD; airline x 3 = 399.978: 399 miles
    card = client.post(
        "/v1/partners/CARD/activities",
        json={
            "member_number": member,
            "activity_id": "C-1",
            "activity_date": "2026-11-23",
            "category": "airline",
            "amount": {"amount": "123.45", "currency": "EUR"},
        },
    )
    assert card.status_code == 201, card.text
    assert card.json()["miles"] == 399
    plain = client.post(
        "/v1/partners/CARD/activities",
        json={
            "member_number": member,
            "activity_id": "C-2",
            "activity_date": "2026-11-23",
            "amount": {"amount": "99.99", "currency": "USD"},
        },
    )
    assert plain.json()["miles"] == 99
    assert balance(client, member) == 1000 + 399 + 99


def test_the_same_activity_again_is_a_replay_and_another_body_a_conflict(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    first = client.post("/v1/partners/HTL/activities", json=stay(member))
    again = client.post("/v1/partners/HTL/activities", json=stay(member))
    other = client.post("/v1/partners/HTL/activities", json=stay(member, nights=4))
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json() == first.json()
    assert other.json()["error"]["code"] == "activity_conflict"
    # the same id at another partner is another activity
    car = client.post(
        "/v1/partners/CAR/activities",
        json={"member_number": member, "activity_id": "H-1", "activity_date": "2026-11-22", "days": 1},
    )
    assert car.status_code == 201
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM partner_activities")).scalar() == 2


@pytest.mark.parametrize(
    ("partner", "overrides", "field", "code"),
    [
        ("HTL", {"nights": 0}, "nights", "out_of_range"),
        ("HTL", {"nights": 366}, "nights", "out_of_range"),
        ("HTL", {"nights": ...}, "nights", "required"),
        ("HTL", {"days": 2}, "days", "not_in_contract"),
        ("HTL", {"kind": "spa"}, "kind", "unknown_kind"),
        ("HTL", {"activity_date": "2026-11-24"}, "activity_date", "future_date"),
        ("HTL", {"activity_date": "2026-05-22"}, "activity_date", "too_old"),
        (
            "CARD",
            {"nights": ..., "amount": {"amount": "0.00", "currency": "USD"}},
            "amount.amount",
            "out_of_range",
        ),
        (
            "CARD",
            {"nights": ..., "amount": {"amount": "-5.00", "currency": "USD"}},
            "amount.amount",
            "out_of_range",
        ),
        (
            "CARD",
            {"nights": ..., "amount": {"amount": "50000.01", "currency": "USD"}},
            "amount.amount",
            "out_of_range",
        ),
        (
            "CARD",
            {"nights": ..., "amount": {"amount": "10.00", "currency": "XAF"}},
            "amount.currency",
            "unknown_currency",
        ),
        (
            "CARD",
            {"nights": ..., "category": "grocery", "amount": {"amount": "10.00", "currency": "USD"}},
            "category",
            "unknown_category",
        ),
        ("HTL", {"member_number": "1000000017"}, "member_number", "invalid_member_number"),
        ("HTL", {"activity_id": "bad\u0000id"}, "activity_id", None),
    ],
)
def test_bad_activities_get_a_422_naming_the_field_and_write_nothing(
    client: TestClient, engine: Engine, partner: str, overrides: dict[str, Any], field: str, code: str | None
) -> None:
    member = enrol(client)
    answer = client.post(f"/v1/partners/{partner}/activities", json=stay(member, **overrides))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["field"] == field
    if code is not None:
        assert error["code"] == code
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM partner_activities")).scalar() == 0
        assert c.execute(text("SELECT count(*) FROM transfers")).scalar() == 0


def test_an_unknown_partner_is_a_404_and_an_unknown_member_too(client: TestClient) -> None:
    member = enrol(client)
    assert (
        client.post("/v1/partners/SPA/activities", json=stay(member)).json()["error"]["code"]
        == "partner_not_found"
    )
    missing = client.post("/v1/partners/HTL/activities", json=stay("1000000016"))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "member_not_found")


def test_a_key_bound_to_one_partner_is_refused_on_another(client: TestClient, hotel: TestClient) -> None:
    member = enrol(client)
    refused = hotel.post(
        "/v1/partners/CAR/activities",
        json={"member_number": member, "activity_id": "R-1", "activity_date": "2026-11-22", "days": 1},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "wrong_partner")
    assert hotel.get("/v1/partners/CAR/settlements/2026-11").status_code == 403
    assert hotel.post("/v1/partners/HTL/activities", json=stay(member)).status_code == 201
    # a key without the scope is refused whatever its partner
    assert hotel.get(f"/v1/members/{member}").status_code == 403


def test_a_pending_stay_reversed_is_cancelled_and_never_posts(client: TestClient, engine: Engine) -> None:
    member = enrol(client)
    client.post("/v1/partners/HTL/activities", json=stay(member))
    reversed_ = client.post("/v1/partners/HTL/activities/H-1/reversal", json={"reason": "stay cancelled"})
    assert reversed_.status_code == 201, reversed_.text
    assert (reversed_.json()["status"], reversed_.json()["reversed_on"]) == ("cancelled", "2026-11-23")
    again = client.post("/v1/partners/HTL/activities/H-1/reversal", json={"reason": "stay cancelled"})
    other = client.post("/v1/partners/HTL/activities/H-1/reversal", json={"reason": "another"})
    assert (again.status_code, other.status_code) == (200, 409)
    assert balance(client, member) == 0
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM transfers")).scalar() == 0


def test_a_posted_activity_reversed_takes_its_miles_back_and_may_leave_a_debt(client: TestClient) -> None:
    member = enrol(client)
    client.post(
        "/v1/partners/CAR/activities",
        json={"member_number": member, "activity_id": "R-1", "activity_date": "2026-11-22", "days": 4},
    )
    assert balance(client, member) == 1000
    back = client.post("/v1/partners/CAR/activities/R-1/reversal", json={})
    assert back.status_code == 201, back.text
    assert back.json()["status"] == "reversed"
    assert balance(client, member) == 0
    read = client.get("/v1/partners/CAR/activities/R-1")
    assert read.json()["status"] == "reversed"
    missing = client.post("/v1/partners/CAR/activities/R-404/reversal", json={})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "activity_not_found")


def test_a_batch_answers_each_item_and_one_bad_item_blocks_nothing(
    client: TestClient, engine: Engine
) -> None:
    member = enrol(client)
    items = [
        stay(member, "H-1"),
        stay(member, "H-2", nights=0),
        {"member_number": member, "activity_id": "H-3"},
        stay(member, "H-1"),
        stay(member, "H-4", activity_date="2026-11-01", nights=2),
    ]
    answer = client.post("/v1/partners/HTL/activities/batch", json={"items": items})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "error", "replayed", "created"]
    assert results[1]["error"]["field"] == "nights"
    assert results[2]["error"]["field"] == "activity_date"
    assert results[3]["activity"] == results[0]["activity"]
    assert results[4]["activity"]["status"] == "posted"
    assert balance(client, member) == 1000
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM partner_activities")).scalar() == 2


def test_a_partner_credits_a_member_at_most_its_daily_limit_for_one_day_s_activity(
    client: TestClient, container: Container, tmp_path: Path
) -> None:
    rules = tmp_path / "limited.yaml"
    rules.write_text(
        reference_text().replace(
            'price_per_mile: "0.0100"', 'price_per_mile: "0.0100"\n        member_daily_limit: 1000'
        )
    )
    load_programme(container, rules)
    container.catalog.forget()
    member = enrol(client)

    def rent(activity_id: str, days: int, day: str = "2026-11-20") -> Any:
        body = {"member_number": member, "activity_id": activity_id, "activity_date": day, "days": days}
        return client.post("/v1/partners/CAR/activities", json=body)

    assert rent("R-1", 4).status_code == 201  # 1,000 miles: the day's limit
    over = rent("R-2", 1)
    assert (over.status_code, over.json()["error"]["code"]) == (422, "daily_limit_reached")
    batch = client.post(
        "/v1/partners/CAR/activities/batch",
        json={
            "items": [
                {"member_number": member, "activity_id": "R-3", "activity_date": "2026-11-20", "days": 1}
            ]
        },
    )
    assert batch.json()["results"][0]["error"]["code"] == "daily_limit_reached"
    # another day's activity has room, even recorded on the same day (a monthly file holds many days)
    assert rent("R-2", 1, "2026-11-21").status_code == 201
    assert balance(client, member) == 1250
