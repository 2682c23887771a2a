"""Finance in a real browser against a real `miles serve`: partners' activity posted in October (a month
then closed) and November (open, the server's clock is in it), a finance agent opens the partner
settlements from the navigation and sees the chart drawn and, for each partner, the figures the API
answers for the same months."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect

from miles.bootstrap import build_container
from miles.domain.partners.earning import PartnerActivity
from miles.services.apikeys import create_key
from miles.services.clock import FixedClock
from miles.services.partners.activities import ActivityRequest, record_activities
from miles.services.partners.settlement import close_month
from tests.e2e.conftest import LiveConsole, ledger_balanced, shot
from tests.e2e.test_console_journeys import agent, member, sign_in

PARTNERS = ("CAR", "CARD", "HTL")
MONTHS = ("2026-10", "2026-11")


@pytest.fixture
def partner_api(live_console: LiveConsole) -> Iterator[httpx.Client]:
    token = create_key(live_console.container, "e2e partners", ["partner:write"])
    with httpx.Client(base_url=live_console.base_url, headers={"Authorization": f"Bearer {token}"}) as api:
        yield api


def earn_in_october(database_url: str, number: str, unique: str) -> None:
    """A rental posted in October, by a runtime whose clock is in October (the server's is in November)."""
    october = build_container(
        database_url, clock=FixedClock(datetime(2026, 10, 20, 12, 0, tzinfo=UTC)), pool_size=1
    )
    try:
        rental = PartnerActivity(number, f"R-OCT-{unique}", date(2026, 10, 18), days=3)
        [result] = record_activities(october, "CAR", [ActivityRequest(0, rental)], "api")
        assert result.error is None, result.error
        assert result.activity is not None
        assert result.activity.status == "posted"
    finally:
        october.engine.dispose()


def cells(page: Page, partner: str, month: str) -> dict[str, str]:
    row = page.get_by_test_id(f"partner-{partner}").locator(f'tr[data-month="{month}"]')
    return {
        col: row.locator(f'[data-col="{col}"]').inner_text().strip()
        for col in ("issued", "reversed", "net", "amount_due", "state")
    }


def test_finance_sees_the_partners_months_and_the_chart_as_the_api_answers_them(
    page: Page, live_console: LiveConsole, e2e_database_url: str, partner_api: httpx.Client, unique: str
) -> None:
    number = member(live_console, "Mary", f"Somerville{unique}", f"mary.{unique}@example.com")
    earn_in_october(e2e_database_url, number, unique)
    close_month(live_console.container, date(2026, 10, 1), f"e2e:{unique}")  # the tests' clock: 2026-11-23
    for partner, body in (
        ("CAR", {"activity_id": f"R-NOV-{unique}", "activity_date": "2026-11-21", "days": 2}),
        (
            "CARD",
            {
                "activity_id": f"C-NOV-{unique}",
                "activity_date": "2026-11-22",
                "amount": {"amount": "250.00", "currency": "USD"},
            },
        ),
        ("HTL", {"activity_id": f"H-NOV-{unique}", "activity_date": "2026-11-06", "nights": 2}),
    ):
        answer = partner_api.post(
            f"/v1/partners/{partner}/activities", json={"member_number": number, **body}
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "posted"
    agent(live_console, f"fin-{unique}", role="finance")

    sign_in(page, f"fin-{unique}")
    page.get_by_role("link", name="Partner settlements").click()
    expect(page.get_by_role("heading", name="Partner settlements", level=1)).to_be_visible()
    chart = page.get_by_test_id("issued-chart")
    expect(chart).to_be_visible()
    bars = chart.locator("rect.bar")
    expect(bars).to_have_count(len(PARTNERS) * 12)
    drawn = [b for b in bars.all() if float(b.get_attribute("height") or 0) > 0]
    assert {(b.get_attribute("data-partner"), b.get_attribute("data-month")) for b in drawn} >= {
        ("CAR", "2026-10"),
        ("CAR", "2026-11"),
        ("CARD", "2026-11"),
        ("HTL", "2026-11"),
    }
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 100

    for partner in PARTNERS:
        for month in MONTHS:
            api = partner_api.get(f"/v1/partners/{partner}/settlements/{month}")
            assert api.status_code == 200, api.text
            expected = api.json()
            shown = cells(page, partner, month)
            assert shown == {
                "issued": f"{expected['miles_issued']:,}",
                "reversed": f"{expected['miles_reversed']:,}",
                "net": f"{expected['net_miles']:,}",
                "amount_due": f"{expected['amount_due']} {expected['currency']}",
                "state": "closed" if expected["closed"] else "open",
            }, (partner, month)
            bar = chart.locator(f'rect.bar[data-partner="{partner}"][data-month="{month}"]')
            assert bar.get_attribute("data-miles") == str(expected["miles_issued"])
    assert cells(page, "CAR", "2026-10")["state"] == "closed"
    assert cells(page, "CAR", "2026-11")["state"] == "open"
    shot(page, "30-finance-partner-settlements")
    assert ledger_balanced(live_console.container) == []
