"""An agent's day in a real browser against a real `miles serve` and Celery worker: sign in, find a
member, book a flight award and watch it confirm, cancel it and get the miles back less the fee, grant
goodwill (2,000 at once, 8,000 approved by a supervisor), file a missing-miles claim, and find all of it
in the audit. Also: an agent cannot reach the approval queue; a script in a member's name does not run."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from miles.domain.agents import Actor
from miles.services.agents import create_agent
from miles.services.members import NewMember, enrol
from tests.e2e.conftest import NOW, LiveConsole, ledger_balanced, shot
from tests.integration.factories import next_ticket
from tests.integration.redemption_helpers import grant_miles

PASSWORD = "correct horse battery"
TRIP = (NOW + timedelta(days=60)).date().isoformat()
FLOWN = (NOW - timedelta(days=10)).date().isoformat()


def agent(live: LiveConsole, name: str, role: str = "agent") -> Actor:
    return create_agent(live.container, name, role, PASSWORD)


def member(live: LiveConsole, given: str, family: str, email: str, miles: int = 0) -> str:
    c = live.container
    with c.uow() as uow:
        number = enrol(uow, c.catalog, c.clock, NewMember(given, family, email)).member_number
    if miles:
        grant_miles(c, number, miles)
    return number


def sign_in(page: Page, name: str, screenshot: str | None = None) -> None:
    page.goto("/console/members")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    if screenshot:
        shot(page, screenshot)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(name)


def miles_shown(page: Page, testid: str) -> str:
    return page.get_by_test_id(testid).inner_text()


def test_an_agent_serves_a_member_end_to_end_and_it_is_all_in_the_audit(
    page: Page, live_console: LiveConsole, unique: str
) -> None:
    agent(live_console, f"ana-{unique}")
    agent(live_console, f"sam-{unique}", role="supervisor")
    family = f"Lovelace{unique}"
    number = member(live_console, "Ada", family, f"ada.{unique}@example.com", miles=40_000)

    # sign in, find the member (a typo first)
    sign_in(page, f"ana-{unique}", screenshot="01-sign-in")
    search = page.get_by_label("Member number, name or e-mail")
    search.fill(number[:9] + str((int(number[9]) + 1) % 10))
    expect(page.get_by_test_id("search-hint")).to_contain_text("mistyped?")
    shot(page, "02-search-mistyped-number")
    search.fill(f"ada {family.lower()}")
    expect(page.get_by_test_id("search-results")).to_contain_text(number)
    shot(page, "03-search-by-name")
    search.fill(number)
    search.press("Enter")
    expect(page.get_by_test_id("member-number")).to_have_text(number)
    expect(page.get_by_test_id("award-miles")).to_have_text("40,000")
    shot(page, "04-member-page")

    # quote and book a flight award; watch it confirm without reloading
    awards = page.locator("#award-panel")
    awards.get_by_label("From").fill("JFK")
    awards.get_by_label("To").fill("LHR")
    awards.get_by_label("Date").fill(TRIP)
    awards.get_by_role("button", name="Quote").click()
    expect(page.get_by_test_id("quote-miles")).to_have_text("25,000")
    shot(page, "05-award-quote")
    page.locator("#award-panel").get_by_role("button", name="Book").click()
    booked = page.get_by_test_id("award-booked")
    expect(booked).to_contain_text("Award requested: redemption")
    redemption = re.search(r"redemption (\d+)", booked.inner_text())
    assert redemption
    rid = redemption.group(1)
    status = page.get_by_test_id(f"redemption-{rid}-status")
    expect(status).to_have_text("CONFIRMED", timeout=30_000)
    expect(page.get_by_test_id("available-miles")).to_have_text("15,000")
    shot(page, "06-award-confirmed")

    # cancel it: the fee is shown before the agent confirms; the miles come back less the fee
    page.get_by_test_id(f"cancel-{rid}").click()
    expect(page.get_by_test_id("cancel-fee")).to_have_text("3,000")
    expect(page.get_by_test_id("cancel-refund")).to_have_text("22,000")
    shot(page, "07-cancel-terms")
    page.get_by_label("Why").fill("member changed plans")
    page.get_by_test_id("confirm-cancel").click()
    expect(page.get_by_test_id(f"redemption-{rid}-status")).to_have_text("CANCELLED")
    expect(page.get_by_test_id("award-miles")).to_have_text("37,000")
    shot(page, "08-award-cancelled")

    # goodwill: 2,000 at once, 8,000 waits for a supervisor
    goodwill = page.locator("#goodwill-panel")
    goodwill.get_by_label("Miles").fill("2000")
    goodwill.get_by_label("Reason").select_option("service_recovery")
    goodwill.get_by_label("Comment").fill("seat broken on ZZ12")
    goodwill.get_by_role("button", name="Grant goodwill").click()
    expect(page.get_by_test_id("goodwill-notice")).to_contain_text("2,000 miles applied")
    expect(page.get_by_test_id("award-miles")).to_have_text("39,000")
    shot(page, "09-goodwill-applied")
    goodwill = page.locator("#goodwill-panel")
    goodwill.get_by_label("Miles").fill("8000")
    goodwill.get_by_label("Reason").select_option("delay")
    goodwill.get_by_label("Comment").fill("eleven hours late, missed the wedding")
    goodwill.get_by_role("button", name="Grant goodwill").click()
    expect(page.get_by_test_id("goodwill-notice")).to_contain_text("8,000 miles wait for a supervisor")
    expect(page.get_by_test_id("award-miles")).to_have_text("39,000")
    shot(page, "10-goodwill-waits-for-approval")

    # a missing-miles claim, earned by the accrual rules
    claim = page.locator("#claim-panel")
    claim.get_by_label("Ticket number").fill(next_ticket())
    claim.get_by_label("Coupon").fill("1")
    claim.get_by_label("Carrier").fill("YY")
    claim.get_by_label("Flight", exact=True).fill("123")
    claim.get_by_label("Class").fill("Y")
    claim.get_by_label("From").fill("JFK")
    claim.get_by_label("To").fill("LHR")
    claim.get_by_label("Departure").fill(FLOWN)
    claim.get_by_label("Comment").fill("boarding pass e-mailed")
    claim.get_by_role("button", name="File claim").click()
    expect(page.get_by_test_id("claim-notice")).to_contain_text("earned 3,451 miles")
    expect(page.get_by_test_id("claim-notice")).to_be_focused()
    expect(page.get_by_test_id("live-region")).to_contain_text("earned 3,451 miles")
    expect(page.get_by_test_id("award-miles")).to_have_text("42,451")
    shot(page, "11-claim-posted")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in"))

    # a supervisor approves the 8,000
    sign_in(page, f"sam-{unique}")
    page.get_by_role("link", name="Approvals").click()
    request = page.locator("tbody", has_text=number)
    expect(request).to_contain_text("8,000")
    shot(page, "12-approval-queue")
    request.get_by_label("Note").fill("checked the delay report")
    request.get_by_role("button", name="Approve").click()
    expect(request).to_contain_text("APPROVED")
    expect(page.get_by_test_id("live-region")).to_have_text(
        re.compile(r"Request \d+: 8,000 miles approved\.")
    )
    assert page.evaluate("document.activeElement.closest('tbody') !== null")  # focus on the decision
    shot(page, "13-approved")
    page.goto(f"/console/members/{number}")
    expect(page.get_by_test_id("award-miles")).to_have_text("50,451")
    shot(page, "14-member-after-the-day")

    # all of it in the audit
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Member").fill(number)
    page.get_by_role("button", name="Filter").click()
    trail = page.get_by_test_id("audit")
    for action in (
        "redemption.booked",
        "redemption.cancelled",
        "goodwill.applied",
        "goodwill.requested",
        "claim.posted",
        "goodwill.approved",
    ):
        expect(trail.locator(f'tr[data-action="{action}"]')).to_have_count(1)
    expect(trail).to_contain_text(f"ana-{unique}")
    expect(trail).to_contain_text(f"sam-{unique}")
    expect(trail).to_contain_text("member changed plans")
    shot(page, "15-audit")
    assert ledger_balanced(live_console.container) == []


def test_an_agent_cannot_reach_the_approval_queue(page: Page, live_console: LiveConsole, unique: str) -> None:
    agent(live_console, f"ivy-{unique}")
    sign_in(page, f"ivy-{unique}")
    expect(page.get_by_role("link", name="Approvals")).to_have_count(0)
    response = page.goto("/console/approvals")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("This page is for supervisors.")
    shot(page, "16-agent-refused-approvals")


def test_a_script_in_a_members_name_does_not_run(page: Page, live_console: LiveConsole, unique: str) -> None:
    agent(live_console, f"max-{unique}")
    given = "<script>window.pwned = 1</script>"
    family = f'<img src=x onerror="window.pwned = 2">{unique}'
    number = member(live_console, given, family, f"max.{unique}@example.com")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, f"max-{unique}")
    page.get_by_label("Member number, name or e-mail").fill("<img")
    expect(page.get_by_test_id("search-results")).to_contain_text(number)
    page.goto(f"/console/members/{number}")
    expect(page.get_by_test_id("member-name")).to_have_text(f"{given} {family}")
    shot(page, "17-script-in-a-name-shown-as-text")
    assert page.evaluate("window.pwned") is None
    assert page.locator("#main img").count() == 0
    assert dialogs == []
