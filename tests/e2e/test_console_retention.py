"""The loyalty manager's retention pages in a real browser against a real `miles serve`: who left last
months and why, who came back and by which promotion, as charts whose bars carry the API's numbers; the
cohort heat map; a CSV download (screenshots, axe)."""

from __future__ import annotations

import csv
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from miles.services.apikeys import create_key
from tests.e2e.conftest import LiveConsole, shot
from tests.e2e.test_console_journeys import agent, sign_in
from tests.integration.retention_data import build

SCOPES = ["analytics:read", "member:write", "accrual:write", "promotion:write"]


@pytest.fixture
def analytics_api(live_console: LiveConsole) -> Iterator[httpx.Client]:
    token = create_key(live_console.container, "e2e retention", SCOPES)
    with httpx.Client(base_url=live_console.base_url, headers={"Authorization": f"Bearer {token}"}) as api:
        yield api


def test_a_manager_sees_who_left_and_who_came_back_in_charts_that_equal_the_api(
    page: Page, live_console: LiveConsole, analytics_api: httpx.Client, unique: str
) -> None:
    build(analytics_api, live_console.container.engine)  # type: ignore[arg-type]
    agent(live_console, f"mgr-{unique}", role="manager")
    sign_in(page, f"mgr-{unique}")
    page.get_by_role("link", name="Retention", exact=True).click()
    expect(page.get_by_role("heading", name="Retention: who left, who came back", level=1)).to_be_visible()
    page.get_by_label("From (YYYY-MM)").fill("2026-09")
    page.get_by_label("To (YYYY-MM)").fill("2026-11")
    page.get_by_role("button", name="Show").click()
    lost = analytics_api.get("/v1/analytics/lost", params={"from": "2026-09", "to": "2026-11"}).json()[
        "months"
    ]
    chart = page.get_by_test_id("lost-chart")
    expect(chart).to_be_visible()
    for month in lost:
        for cause, members in month["causes"].items():
            bar = chart.locator(f'rect.bar[data-cause="{cause}"][data-month="{month["month"]}"]')
            assert bar.get_attribute("data-members") == str(members), (cause, month["month"])
        row = page.get_by_test_id("lost").locator(f'tr[data-month="{month["month"]}"] [data-col="lost"]')
        assert row.inner_text() == str(month["lost"])
    back = analytics_api.get("/v1/analytics/won-back", params={"from": "2026-10", "to": "2026-10"}).json()
    welcome = page.get_by_test_id("won-back-chart").locator(
        'rect.bar[data-promotion="WELCOME-BACK"][data-month="2026-10"]'
    )
    assert welcome.get_attribute("data-members") == str(back["months"][0]["promotions"]["WELCOME-BACK"])
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300
    shot(page, "50-retention-lost-and-won-back")

    with page.expect_download() as download:
        page.get_by_test_id("lost-csv").click()
    with open(download.value.path(), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["month"], int(r["lost"])) for r in rows] == [(m["month"], m["lost"]) for m in lost]

    page.get_by_role("link", name="Cohort retention").click()
    expect(page.get_by_test_id("cohort-heat-map")).to_be_visible()
    shot(page, "51-retention-cohorts")
    page.get_by_role("link", name="Promotions that brought members back").click()
    expect(page.get_by_test_id("promotions").locator('tr[data-promotion="WELCOME-BACK"]')).to_be_visible()
    shot(page, "52-retention-promotions")


def test_a_manager_compares_members_compensated_after_a_complaint_with_those_who_were_not(
    page: Page, live_console: LiveConsole, analytics_api: httpx.Client, unique: str
) -> None:
    agent(live_console, f"rec-{unique}", role="manager")
    sign_in(page, f"rec-{unique}")
    page.get_by_role("link", name="Service recovery", exact=True).click()
    expect(page.get_by_role("heading", name="Service recovery", level=1)).to_be_visible()
    page.get_by_label("Complaints from").fill("2025-01-01")
    page.get_by_label("to", exact=True).fill("2026-11-23")
    page.get_by_role("button", name="Show").click()
    api = analytics_api.get(
        "/v1/analytics/service-recovery", params={"from": "2025-01-01", "to": "2026-11-23"}
    )
    assert api.status_code == 200, api.text
    groups = page.get_by_test_id("recovery-groups")
    expect(groups).to_be_visible()
    for group in ("compensated", "not_compensated"):
        shown = groups.locator(f'tr[data-row="members"] [data-col="{group}"]').inner_text().replace(",", "")
        assert shown == str(api.json()[group]["members"]), group
    shot(page, "53-retention-service-recovery")
