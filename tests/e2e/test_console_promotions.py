"""A loyalty manager's campaign in a real browser against a real `miles serve` and worker: the manager
creates a double-miles promotion through the form (a mistake first, shown next to its field), an agent
files a missing-miles claim that earns it, and the promotion's page shows the miles and the chart."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.e2e.conftest import NOW, LiveConsole, ledger_balanced, shot
from tests.e2e.test_console_journeys import agent, member, sign_in
from tests.integration.factories import next_ticket

FLOWN = (NOW - timedelta(days=10)).date().isoformat()
DEN_BOS = 1_754  # miles: YY in Y earns 100 % of it, doubled by the promotion (under the agent limit)


def test_a_manager_runs_a_double_miles_campaign_that_a_claim_earns(
    page: Page, live_console: LiveConsole, unique: str
) -> None:
    agent(live_console, f"mia-{unique}", role="manager")
    agent(live_console, f"ana-{unique}")
    number = member(live_console, "Grace", f"Hopper{unique}", f"grace.{unique}@example.com")
    code = f"DBL-{unique.upper()}"

    # the manager creates the campaign (on a route no other test flies: the browser tests share a database)
    sign_in(page, f"mia-{unique}")
    page.get_by_role("link", name="Promotions").click()
    page.get_by_test_id("new-promotion").click()
    form = page.get_by_test_id("promotion-form")
    form.get_by_label("Code").fill(code)
    form.get_by_label("Name").fill("Double miles to Boston")
    form.get_by_label("Trigger").select_option("flight")
    form.get_by_label("Starts on").fill("2026-10-01")
    form.get_by_label("Ends on").fill("2026-12-31")
    form.get_by_label("Carriers").fill("YY")
    form.get_by_label("Routes").fill("DEN-BOS")
    form.get_by_label("Kind").select_option("multiplier")
    form.get_by_label("Value (multiplier or percent)").fill("1")  # a mistake: a multiplier is above 1
    form.get_by_label("Budget (miles)").fill("100000")
    form.get_by_role("button", name="Create promotion").click()
    value = page.get_by_test_id("promotion-form").get_by_label("Value (multiplier or percent)")
    expect(value).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pr-effect_value-error")).to_contain_text("a multiplier is above 1")
    shot(page, "20-promotion-form-mistake")
    value.fill("2")
    page.get_by_role("button", name="Create promotion").click()
    expect(page.get_by_test_id("promotion-status")).to_have_text("running")
    expect(page.get_by_test_id("no-awards")).to_be_visible()
    shot(page, "21-promotion-created")
    page.get_by_role("button", name="Sign out").click()

    # an agent files a missing-miles claim for the member's DEN-BOS flight: it earns the promotion
    sign_in(page, f"ana-{unique}")
    page.goto(f"/console/members/{number}")
    claim = page.locator("#claim-panel")
    claim.get_by_label("Ticket number").fill(next_ticket())
    claim.get_by_label("Coupon").fill("1")
    claim.get_by_label("Carrier").fill("YY")
    claim.get_by_label("Flight", exact=True).fill("68")
    claim.get_by_label("Class").fill("Y")
    claim.get_by_label("From").fill("DEN")
    claim.get_by_label("To").fill("BOS")
    claim.get_by_label("Departure").fill(FLOWN)
    claim.get_by_label("Comment").fill("boarding pass e-mailed")
    claim.get_by_role("button", name="File claim").click()
    expect(page.get_by_test_id("claim-notice")).to_contain_text(f"earned {2 * DEN_BOS:,} miles")
    expect(page.get_by_test_id("award-miles")).to_have_text(f"{2 * DEN_BOS:,}")
    shot(page, "22-claim-earns-the-promotion")
    page.get_by_role("button", name="Sign out").click()

    # the manager sees the miles and the chart on the promotion's page
    sign_in(page, f"mia-{unique}")
    page.goto(f"/console/promotions/{code}")
    expect(page.get_by_test_id("awarded-miles")).to_have_text(f"{DEN_BOS:,}")
    expect(page.get_by_test_id("members-rewarded")).to_have_text("1")
    expect(page.get_by_test_id("budget-left")).to_contain_text(f"{100_000 - DEN_BOS:,}")
    expect(page.locator("svg rect")).not_to_have_count(0)
    expect(page.get_by_test_id("awards-per-day")).to_contain_text(f"{DEN_BOS:,}")
    shot(page, "23-promotion-page-with-chart")
    assert ledger_balanced(live_console.container) == []
