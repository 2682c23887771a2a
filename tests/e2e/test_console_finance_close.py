"""A finance controller closes a month in a real browser against a real `miles serve`: October (over: the
server's clock is on 2026-11-23) is closed from the months page; the month's page shows the figures the API
answers and the breakage chart; its cohorts download as CSV with the API's numbers; the months page then
draws the liability and the revenue; November, not over, is refused next to the field."""

from __future__ import annotations

import csv
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from miles.services.apikeys import create_key
from tests.e2e.conftest import LiveConsole, ledger_balanced, shot
from tests.e2e.test_console_finance import earn_in_october
from tests.e2e.test_console_journeys import agent, member, sign_in


@pytest.fixture
def finance_api(live_console: LiveConsole) -> Iterator[httpx.Client]:
    token = create_key(live_console.container, "e2e finance", ["finance:read"])
    with httpx.Client(base_url=live_console.base_url, headers={"Authorization": f"Bearer {token}"}) as api:
        yield api


def figure(page: Page, name: str) -> str:
    return page.locator(f'tr[data-figure="{name}"] td.num').inner_text().strip().replace(",", "")


def test_finance_closes_october_from_the_console_and_sees_and_exports_what_the_api_answers(
    page: Page, live_console: LiveConsole, e2e_database_url: str, finance_api: httpx.Client, unique: str
) -> None:
    number = member(live_console, "Emmy", f"Noether{unique}", f"emmy.{unique}@example.com", miles=5_000)
    earn_in_october(e2e_database_url, number, unique)
    agent(live_console, f"ctl-{unique}", role="finance")
    sign_in(page, f"ctl-{unique}")
    page.get_by_role("link", name="Finance", exact=True).click()
    expect(page.get_by_role("heading", name="Month-end close", level=1)).to_be_visible()
    page.get_by_label("Month to close (YYYY-MM)").fill("2026-11")
    page.get_by_role("button", name="Close the month").click()
    expect(page.get_by_test_id("error-summary")).to_contain_text("not over yet")
    expect(page.locator('[data-field="month"]')).to_contain_text("not over yet")
    shot(page, "40-finance-close-refused")

    page.get_by_label("Month to close (YYYY-MM)").fill("2026-10")
    page.get_by_role("button", name="Close the month").click()
    expect(page).to_have_url(f"{live_console.base_url}/console/finance/months/2026-10")
    expect(page.get_by_test_id("state")).to_have_text("closed")
    api = finance_api.get("/v1/finance/periods/2026-10")
    assert api.status_code == 200, api.text
    closed = api.json()
    assert closed["closed"] is True
    for name in ("miles_redeemed", "miles_expired", "miles_outstanding", "debts", "miles_held"):
        assert figure(page, name) == str(closed[name]), name
    for name in ("deferred_revenue_opening", "revenue_recognised", "deferred_revenue_closing"):
        assert figure(page, name) == closed[name], name
    for source, miles in closed["miles_issued"].items():
        shown = page.get_by_test_id("issued").locator(f'tr[data-source="{source}"] [data-col="miles"]')
        assert shown.inner_text().replace(",", "") == str(miles), source
    chart = page.get_by_test_id("breakage-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(len(closed["cohorts"]))
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300
    shot(page, "41-finance-october-closed")

    with page.expect_download() as download:
        page.get_by_test_id("cohorts-csv").click()
    path = download.value.path()
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["earn_month"], r["revenue_to_date"]) for r in rows] == [
        (c["earn_month"], c["revenue_to_date"]) for c in closed["cohorts"]
    ]

    page.get_by_role("link", name="All months").click()
    liability = page.get_by_test_id("liability-chart")
    expect(liability).to_be_visible()
    october = liability.locator('rect.bar[data-month="2026-10"]')
    assert sum(int(b.get_attribute("data-miles") or 0) for b in october.all()) == (
        closed["miles_outstanding"] + closed["debts"]
    )
    revenue = page.get_by_test_id("revenue-chart").locator('rect.bar[data-month="2026-10"]')
    assert revenue.get_attribute("data-amount") == closed["revenue_recognised"]
    expect(page.get_by_test_id("months").locator('tr[data-month="2026-10"]')).to_be_visible()
    shot(page, "42-finance-months")
    assert ledger_balanced(live_console.container) == []
