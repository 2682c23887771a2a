"""Promotions in the console: managers create, review and end campaigns (403 for everyone else), each
problem of a form shown next to its field with nothing written; the promotion's page reports what it gave,
with a chart per day; agents register members and see their progress on the member page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.console_helpers import (
    HTMX,
    console_client,
    counts,
    field_errors,
    make_agent,
    signed_in,
)
from tests.integration.factories import coupon, enrol

WRITTEN = ("promotions", "audit_log")


def double_miles(**overrides: str) -> dict[str, str]:
    form = {
        "code": "dbl-lhr",
        "name": "Double miles to London",
        "trigger": "flight",
        "starts_on": "2026-09-01",
        "ends_on": "2026-12-31",
        "tiers": "",
        "carriers": "YY",
        "routes": "JFK-LHR",
        "effect_kind": "multiplier",
        "effect_value": "2",
        "budget_miles": "1,000,000",
        "stacking_group": "route",
    }
    return form | overrides


@pytest.fixture
def manager(container: Container) -> Any:
    make_agent(container, "meg", role="manager")
    with console_client(container) as tc:
        tc.headers["X-CSRF-Token"] = signed_in(tc, "meg")
        yield tc


def test_only_managers_see_the_promotion_pages(container: Container, manager: TestClient) -> None:
    make_agent(container, "ann")
    with console_client(container) as agent:
        signed_in(agent, "ann")
        assert agent.get("/console/promotions").status_code == 403
        assert agent.get("/console/promotions/new").status_code == 403
        assert 'href="/console/promotions"' not in agent.get("/console/members").text
    page = manager.get("/console/promotions")
    assert page.status_code == 200
    assert 'href="/console/promotions/new"' in page.text
    assert 'href="/console/promotions"' in manager.get("/console/members").text


def test_a_promotion_made_with_the_form_earns_and_its_page_reports_it(
    client: TestClient, manager: TestClient, engine: Engine
) -> None:
    created = manager.post("/console/promotions", data=double_miles())
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/console/promotions/DBL-LHR"
    member = enrol(client)
    earned = client.post("/v1/accruals/flights", json=coupon(member)).json()
    assert earned["promotions"] == [{"code": "DBL-LHR", "miles": earned["base_miles"]}]

    page = manager.get("/console/promotions/DBL-LHR")
    assert page.status_code == 200
    awarded = f"{earned['promotion_miles']:,}"
    assert re.search(rf'data-testid="awarded-miles">{awarded}<', page.text)
    assert re.search(rf'data-testid="budget-left">{1_000_000 - earned["promotion_miles"]:,}<', page.text)
    chart = re.search(r"<svg .*?</svg>", page.text, re.S)
    assert chart is not None
    assert len(re.findall(r'<rect class="bar"', chart.group(0))) == 1
    assert f"{awarded} miles (1 bonus)" in chart.group(0)
    listing = manager.get("/console/promotions").text
    assert re.search(r'data-code="DBL-LHR">.*?running.*?' + awarded, listing, re.S)
    with engine.connect() as c:
        actor = c.execute(text("SELECT actor FROM audit_log WHERE action = 'promotion.create'")).scalar_one()
    assert actor == "meg"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"ends_on": "2026-08-31"}, "ends_on", "ends_on is before starts_on"),
        ({"effect_value": "1"}, "effect_value", "a multiplier is above 1 (at most 100)"),
        ({"tiers": "GOLD, DIAMOND"}, "tiers", "tiers the programme does not have: DIAMOND"),
        ({"routes": "JFK-LHR JFKLHR"}, "routes", "routes are written ORIGIN-DESTINATION, like JFK-LHR"),
        ({"budget_miles": "lots"}, "budget_miles", "a whole number, like 3 (leave it empty for none)"),
    ],
)
def test_a_bad_form_comes_back_with_the_problem_next_to_its_field_and_nothing_written(
    manager: TestClient, engine: Engine, overrides: dict[str, str], field: str, message: str
) -> None:
    before = counts(engine, WRITTEN)
    response = manager.post("/console/promotions", data=double_miles(**overrides))
    assert response.status_code == 422
    assert field_errors(response.text) == {field: message}
    assert f'value="{next(iter(overrides.values()))}"' in response.text  # what was typed stays
    assert counts(engine, WRITTEN) == before


def test_every_problem_of_the_form_shape_is_shown_at_once(manager: TestClient, engine: Engine) -> None:
    response = manager.post(
        "/console/promotions",
        data=double_miles(code="", effect_kind="fixed", effect_miles="", per_member_times="two"),
    )
    assert response.status_code == 422
    assert field_errors(response.text) == {
        "code": "code is required",
        "effect_miles": "a fixed effect needs `miles`",
        "per_member_times": "a whole number, like 3 (leave it empty for none)",
    }
    assert counts(engine, WRITTEN)["promotions"] == 0


def test_the_same_code_with_other_terms_is_a_conflict_next_to_the_code(manager: TestClient) -> None:
    assert manager.post("/console/promotions", data=double_miles()).status_code == 303
    assert manager.post("/console/promotions", data=double_miles()).status_code == 303  # the same: again
    other = manager.post("/console/promotions", data=double_miles(name="Another name"))
    assert other.status_code == 409
    assert field_errors(other.text) == {"code": "promotion DBL-LHR exists with another definition"}


def test_ending_a_promotion_shows_it_ended_and_it_earns_no_more(
    client: TestClient, manager: TestClient, engine: Engine
) -> None:
    manager.post("/console/promotions", data=double_miles())
    ended = manager.post("/console/promotions/DBL-LHR/end")
    assert ended.status_code == 303
    page = manager.get(ended.headers["location"]).text
    assert 'data-testid="promotion-status">ended<' in page
    assert 'data-testid="end-promotion"' not in page
    assert client.post("/v1/accruals/flights", json=coupon(enrol(client))).json()["promotion_miles"] == 0
    assert manager.get("/console/promotions/NOPE").status_code == 404
    with engine.connect() as c:
        ends = c.execute(text("SELECT count(*) FROM audit_log WHERE action = 'promotion.end'")).scalar_one()
    assert ends == 1


def test_an_agent_registers_a_member_and_the_panel_shows_the_challenge_progress(
    container: Container, client: TestClient
) -> None:
    challenge = {
        "code": "FLY-3",
        "name": "Three flights, 1,000 miles",
        "trigger": "challenge",
        "starts_on": "2026-11-01",
        "ends_on": "2026-12-31",
        "registration_required": True,
        "effect": {"kind": "fixed", "miles": 1000},
        "challenge": {"segments": 3, "repeat": True},
    }
    assert client.post("/v1/promotions", json=challenge).status_code == 201
    member = enrol(client)
    make_agent(container, "abe")
    with console_client(container) as agent:
        token = signed_in(agent, "abe")
        url = f"/console/members/{member}/promotions"
        unknown = agent.post(url, data={"code": "nope", "csrf_token": token}, headers=HTMX)
        assert unknown.status_code == 404
        assert field_errors(unknown.text) == {"code": "no promotion NOPE"}
        registered = agent.post(url, data={"code": "fly-3", "csrf_token": token}, headers=HTMX)
        assert registered.status_code == 200
        assert "Registered for FLY-3 from 2026-11-23" in registered.text
        assert registered.headers["HX-Trigger"] == "memberChanged"
        plain = agent.post(url, data={"code": "FLY-3", "csrf_token": token})  # again, without htmx
        assert (plain.status_code, plain.headers["location"]) == (303, f"/console/members/{member}")
        client.post("/v1/accruals/flights", json=coupon(member, departure_date="2026-11-23"))
        page = agent.get(f"/console/members/{member}").text
    row = re.search(r'<tr data-code="FLY-3">.*?</tr>', page, re.S)
    assert row is not None
    assert "2026-11-23" in row.group(0)
    assert "1 segments, 2 to the next bonus" in row.group(0)
