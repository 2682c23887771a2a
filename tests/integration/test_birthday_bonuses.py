"""Birthday bonuses granted by the nightly run: exactly once per member and year, under a second beat
and duplicate chunk deliveries; 29 February celebrated on 28 February in other years; the budget cut."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.api.app import create_app
from miles.bootstrap import Container
from miles.services.nightly.chunks import ChunkOutcome, chunk_job
from miles.services.nightly.runs import start_run
from tests.integration.conftest import make_key
from tests.integration.nightly_data import night_runner, run_night

NIGHT = date(2027, 2, 28)  # not a leap year: 29 February birthdays are celebrated tonight


@pytest.fixture
def night(database_url: str) -> Iterator[Container]:
    with night_runner(database_url, chunk_size=3) as container:
        yield container


@pytest.fixture
def api(night: Container) -> Iterator[TestClient]:
    with TestClient(create_app(night)) as client:
        scopes = ["member:write", "member:read", "promotion:write"]
        client.headers["Authorization"] = f"Bearer {make_key(night, scopes)}"
        yield client


def _enrol(api: TestClient, birth_date: str | None) -> str:
    body = {"given_name": "B", "family_name": "Day", "email": "b@day.example"}
    if birth_date:
        body["birth_date"] = birth_date
    response = api.post("/v1/members", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["member_number"])


def _bonuses(engine: Engine) -> dict[str, list[int]]:
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT m.member_number, a.miles FROM promotion_awards a JOIN members m ON m.id = a.member_id "
                "WHERE a.birthday_year IS NOT NULL ORDER BY a.id"
            )
        ).all()
    out: dict[str, list[int]] = {}
    for number, miles in rows:
        out.setdefault(number, []).append(int(miles))
    return out


def test_a_birthday_bonus_is_granted_once_per_member_and_year(
    api: TestClient, night: Container, engine: Engine
) -> None:
    promotion = {
        "code": "HAPPY-BIRTHDAY",
        "name": "Happy birthday",
        "trigger": "birthday",
        "starts_on": "2027-01-01",
        "ends_on": "2027-12-31",
        "effect": {"kind": "fixed", "miles": 1000},
        "limits": {"budget_miles": 3500},
    }
    assert api.post("/v1/promotions", json=promotion).status_code == 201
    celebrating = [_enrol(api, "1990-02-28") for _ in range(3)]
    leap_born = _enrol(api, "1992-02-29")
    others = [_enrol(api, "1990-03-01"), _enrol(api, "1990-02-27"), _enrol(api, None)]

    first = start_run(night, NIGHT)
    assert not start_run(night, NIGHT).created  # a second beat joins the first run
    report = run_night(night, NIGHT)
    for chunk_no in range(report.chunks):  # every chunk delivered again
        assert chunk_job(night, run_id=first.run_id, chunk_no=chunk_no) == ChunkOutcome.ALREADY_DONE.value

    bonuses = _bonuses(engine)
    # the budget of 3,500 pays three bonuses and 500 to the fourth (chunks go in any order)
    assert sorted((bonuses.get(n) for n in [*celebrating, leap_born]), reverse=True) == [[1000]] * 3 + [[500]]
    assert all(n not in bonuses for n in others)
    figures = api.get("/v1/promotions/HAPPY-BIRTHDAY").json()
    assert (figures["awarded_miles"], figures["budget_left"], figures["members_rewarded"]) == (3500, 0, 4)
    balance = api.get(f"/v1/members/{leap_born}").json()["award_miles"]
    assert [balance] == bonuses[leap_born]
    statement = api.get(f"/v1/members/{leap_born}/statement").json()
    assert [(line["code"], line["promotion"], line["description"]) for line in statement["transfers"]] == [
        ("promotion_bonus", "HAPPY-BIRTHDAY", "Promotion bonus: Happy birthday (HAPPY-BIRTHDAY)")
    ]


def test_a_leap_day_birthday_is_celebrated_on_the_day_in_a_leap_year(
    api: TestClient, night: Container, engine: Engine
) -> None:
    promotion = {
        "code": "LEAP",
        "name": "Leap",
        "trigger": "birthday",
        "starts_on": "2028-01-01",
        "ends_on": "2028-12-31",
        "effect": {"kind": "fixed", "miles": 250},
    }
    assert api.post("/v1/promotions", json=promotion).status_code == 201
    leap_born = _enrol(api, "1992-02-29")
    run_night(night, date(2028, 2, 28))
    assert _bonuses(engine) == {}
    run_night(night, date(2028, 2, 29))
    assert _bonuses(engine) == {leap_born: [250]}
