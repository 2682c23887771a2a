"""The service-recovery report: members built so that the answer is known (compensated ones who kept
flying, uncompensated ones who went quiet), through the API, the managers' console page and its CSV, which
agree; a bad or reversed range is a 422 naming the field."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.services.clock import FixedClock
from miles.services.complaints import record_complaint, service_recovery_report, update_complaint
from tests.integration.conftest import NOW
from tests.integration.console_helpers import console_client, make_agent, signed_in
from tests.integration.factories import coupon, enrol

RANGE = {"from": "2025-06-01", "to": "2025-06-30"}


def on(clock: FixedClock, day: date) -> None:
    clock.at = datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


def fly(client: TestClient, clock: FixedClock, member: str, departure: date) -> int:
    on(clock, date.fromordinal(departure.toordinal() + 3))
    response = client.post("/v1/accruals/flights", json=coupon(member, departure_date=departure.isoformat()))
    assert response.status_code == 201, response.text
    return int(response.json()["award_miles"])


def grant(client: TestClient, member: str, miles: int) -> int:
    body = {"member_number": member, "miles": miles, "reason_code": "service_recovery", "comment": "sorry"}
    response = client.post("/v1/adjustments", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["adjustment_id"])


def segment(engine: Engine, member: str, name: str) -> None:
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO member_segments (member_id, segment, repeat, vip, since_date, run_date) "
                "SELECT id, :s, false, false, :d, :d FROM members WHERE member_number = :n"
            ),
            {"s": name, "d": date(2026, 11, 22), "n": member},
        )


def build(container: Container, client: TestClient, clock: FixedClock, engine: Engine) -> int:
    """Two compensated members who kept flying, two uncompensated who went quiet, one outside the range;
    the compensated group's miles earned in their windows."""
    agent = make_agent(container, "ana")
    on(clock, date(2025, 1, 5))
    a, b, c, d, e = (enrol(client, "M", name) for name in ("Avery", "Blake", "Casey", "Drew", "Ellis"))
    fly(client, clock, c, date(2025, 5, 1))  # before their complaint
    fly(client, clock, d, date(2025, 5, 15))
    # A: compensated at once, and a second complaint without goodwill in the range (still compensated)
    on(clock, date(2025, 6, 5))
    record_complaint(container, agent, a, "delay", "Five hours late", "Apologised", grant(client, a, 1000))
    on(clock, date(2025, 6, 25))
    record_complaint(container, agent, a, "seat", "Broken seat")
    # B: goodwill linked after the complaint
    on(clock, date(2025, 6, 10))
    complaint = record_complaint(container, agent, b, "baggage", "Bag late")
    update_complaint(container, agent, b, complaint.complaint_id, "Delivered", grant(client, b, 500))
    # C: no goodwill; D: goodwill above the agent limit, never approved (not compensated)
    on(clock, date(2025, 6, 15))
    record_complaint(container, agent, c, "service", "Rude at the gate")
    on(clock, date(2025, 6, 20))
    record_complaint(container, agent, d, "cancellation", "Cancelled", goodwill_id=grant(client, d, 8000))
    # E: compensated, but after the range
    on(clock, date(2025, 7, 5))
    record_complaint(container, agent, e, "delay", "Late", goodwill_id=grant(client, e, 300))
    miles = fly(client, clock, a, date(2025, 8, 1)) + fly(client, clock, a, date(2025, 12, 1))
    miles += fly(client, clock, b, date(2026, 3, 1))
    fly(client, clock, b, date(2026, 8, 1))  # after B's 12 months: not counted
    fly(client, clock, e, date(2025, 9, 1))
    segment(engine, b, "at_risk")  # B's segment: not left
    segment(engine, d, "lost")  # D's: left; C has none and is quiet since 2025-05-01: left
    clock.at = NOW
    return miles


def test_compensated_members_kept_flying_and_the_others_left(
    container: Container, client: TestClient, clock: FixedClock, engine: Engine
) -> None:
    miles = build(container, client, clock, engine)
    response = client.get("/v1/analytics/service-recovery", params=RANGE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"], body["as_of"], body["follow_months"]) == (
        "2025-06-01",
        "2025-06-30",
        "2026-11-23",
        12,
    )
    assert body["compensated"] == {
        "members": 2,
        "complaints": 3,
        "complaints_full_year": 3,
        "members_full_year": 2,
        "members_active": 2,
        "share_active": "1.0000",
        "flights": 3,
        "flights_per_member": "1.50",
        "miles_earned": miles,
        "miles_per_member": f"{miles / 2:.2f}",
        "members_left": 0,
        "share_left": "0.0000",
    }
    assert body["not_compensated"] == {
        "members": 2,
        "complaints": 2,
        "complaints_full_year": 2,
        "members_full_year": 2,
        "members_active": 0,
        "share_active": "0.0000",
        "flights": 0,
        "flights_per_member": "0.00",
        "miles_earned": 0,
        "miles_per_member": "0.00",
        "members_left": 2,
        "share_left": "1.0000",
    }
    assert body["difference"] == {
        "share_active": "1.0000",
        "flights_per_member": "1.50",
        "miles_per_member": f"{miles / 2:.2f}",
        "share_left": "-1.0000",
    }
    # cut at as_of: a year later than the complaints, only part of the window has passed
    early = service_recovery_report(container, date(2025, 6, 1), date(2025, 6, 30), date(2025, 10, 1))
    assert (early.compensated.flights, early.compensated.members_full_year) == (1, 0)
    assert early.compensated.complaints_full_year == 0


def test_the_console_page_and_csv_agree_with_the_api(
    container: Container, client: TestClient, clock: FixedClock, engine: Engine
) -> None:
    build(container, client, clock, engine)
    answer = client.get("/v1/analytics/service-recovery", params=RANGE).json()
    make_agent(container, "meg", role="manager")
    make_agent(container, "ben")
    with console_client(container) as console:
        signed_in(console, "meg")
        assert 'href="/console/retention/service-recovery"' in console.get("/console/members").text
        page = console.get("/console/retention/service-recovery", params=RANGE)
        assert page.status_code == 200, page.text
        for group in ("compensated", "not_compensated"):
            for key, value in answer[group].items():
                cell = re.search(
                    rf'<tr data-row="{key}">.*?data-col="{group}">([^<]*)<', page.text, re.DOTALL
                )
                assert cell, key
                shown = f"{value:,}" if isinstance(value, int) else value
                assert cell.group(1) == shown, (group, key)
        assert 'data-testid="recovery-shares-chart"' in page.text
        assert 'data-group="Compensated" data-figure="still active" data-percent="100.0"' in page.text
        assert "<script" not in page.text.split("<main", 1)[1]
        download = console.get("/console/retention/service-recovery.csv", params=RANGE)
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        assert (
            'filename="service-recovery-2025-06-01-2025-06-30.csv"' in download.headers["content-disposition"]
        )
        rows = {r["group"]: r for r in csv.DictReader(io.StringIO(download.text))}
        assert set(rows) == {"compensated", "not_compensated", "difference"}
        for group in ("compensated", "not_compensated"):
            assert {k: rows[group][k] for k in answer[group]} == {k: str(v) for k, v in answer[group].items()}
        assert rows["difference"]["share_left"] == answer["difference"]["share_left"]
        bad = console.get("/console/retention/service-recovery", params={"from": "2025-06-31", "to": "x"})
        assert bad.status_code == 422
        assert 'data-field="from"' in bad.text
        assert 'data-field="to"' in bad.text
        reversed_range = console.get(
            "/console/retention/service-recovery", params={"from": "2025-07-01", "to": "2025-06-01"}
        )
        assert reversed_range.status_code == 422
        assert 'data-field="to"' in reversed_range.text
        assert console.get("/console/retention/service-recovery").status_code == 200  # the default range
    with console_client(container) as console:
        signed_in(console, "ben")
        assert console.get("/console/retention/service-recovery", params=RANGE).status_code == 403
        assert console.get("/console/retention/service-recovery.csv", params=RANGE).status_code == 403


def test_a_bad_or_reversed_range_is_a_422_naming_the_field(client: TestClient) -> None:
    cases = [
        ({"from": "2025-02-30", "to": "2025-03-01"}, "from"),
        ({"from": "2025-01-01", "to": "yesterday"}, "to"),
        ({"from": "2025-03-01", "to": "2025-02-01"}, "to"),
        ({"to": "2025-02-01"}, "from"),
        ({"from": "0001-01-01", "to": "2025-02-01"}, "from"),
        ({"from": "2025-01-01", "to": "9999-12-31"}, "to"),
    ]
    for params, field in cases:
        response = client.get("/v1/analytics/service-recovery", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["field"] == field, params
    empty = client.get("/v1/analytics/service-recovery", params=RANGE).json()
    assert empty["compensated"]["members"] == 0
    assert empty["compensated"]["share_active"] is None
    assert empty["difference"]["share_left"] is None
