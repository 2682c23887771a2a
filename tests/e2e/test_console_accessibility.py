"""The console for an agent on a keyboard and a screen reader (WCAG 2.1 AA), in a real browser against a
real `miles serve` and Celery worker: a skip link; after every answer htmx swaps in, focus on the result
(never the page's body); each page's one live region, empty at load, receives every outcome; buttons are
disabled while their request runs; a refused form gets a role="alert" summary and focus on its first
invalid field. axe-core checks each page state on the way (see `shot`), the PENDING one included."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from miles.adapters.db.engine import make_engine
from tests.e2e.conftest import LiveConsole, assert_accessible, shot
from tests.e2e.test_console_journeys import FLOWN, TRIP, agent, member, sign_in
from tests.integration.conftest import reset
from tests.integration.factories import next_ticket
from tests.integration.redemption_helpers import set_supplier

LIVE = "#announcer"
# every element a screen reader treats as a polite live region
POLITE_REGIONS = '[aria-live="polite"], [role="status"], [role="log"], output'


def focused(page: Page) -> dict[str, str]:
    """What has focus: its tag, id, test id, words, and the id of the panel (or table row) it is in."""
    return page.evaluate(
        """() => { const e = document.activeElement;
                   const panel = e && e.closest('section[id], tbody[id], #outcome');
                   return {tag: e ? e.tagName : '', id: (e && e.id) || '',
                           testid: (e && e.getAttribute('data-testid')) || '',
                           text: e ? (e.textContent || '').trim().slice(0, 200) : '',
                           panel: panel ? panel.id : ''}; }"""
    )


def one_live_region_empty_at_load(page: Page) -> None:
    expect(page.locator(POLITE_REGIONS)).to_have_count(1)
    expect(page.locator(LIVE)).to_have_attribute("aria-live", "polite")
    expect(page.locator(LIVE)).to_have_text("")


@pytest.fixture
def slow_flights(live_console: LiveConsole) -> Iterator[None]:
    """The flights supplier answers in 2.5 s: long enough to see buttons disabled and a PENDING award."""
    set_supplier(live_console.container, "flights", latency_ms=2500)
    yield
    set_supplier(live_console.container, "flights", latency_ms=0)


def test_a_keyboard_and_screen_reader_user_is_led_through_every_outcome(
    page: Page, live_console: LiveConsole, unique: str, slow_flights: None
) -> None:
    agent(live_console, f"kim-{unique}")
    number = member(live_console, "Grace", f"Hopper{unique}", f"grace.{unique}@example.com", miles=40_000)
    sign_in(page, f"kim-{unique}")
    one_live_region_empty_at_load(page)

    # the search: results are announced, focus stays in the search box while typing
    search = page.get_by_label("Member number, name or e-mail")
    search.fill(f"grace hopper{unique}")
    expect(page.get_by_test_id("search-results")).to_contain_text(number)
    expect(page.locator(LIVE)).to_have_text("1 member found.")
    assert focused(page)["id"] == "q"

    # the member page: the skip link is the first stop and takes focus to the main content
    page.goto(f"/console/members/{number}")
    one_live_region_empty_at_load(page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")

    # a quote: both buttons disabled while it runs, then focus on the quote and its total announced
    awards = page.locator("#award-panel")
    awards.get_by_label("From").fill("JFK")
    awards.get_by_label("To").fill("LHR")
    awards.get_by_label("Date").fill(TRIP)
    awards.get_by_role("button", name="Quote").focus()
    page.keyboard.press("Enter")
    expect(awards.get_by_role("button", name="Quote")).to_be_disabled()
    expect(awards.get_by_role("button", name="Book")).to_be_disabled()
    expect(page.get_by_test_id("quote-miles")).to_have_text("25,000")
    expect(page.locator(LIVE)).to_contain_text("total 25,000 miles")
    assert focused(page)["testid"] == "award-quote"

    # booked: the request is announced and focused; PENDING is checked by axe while it lasts
    page.locator("#award-panel").get_by_role("button", name="Book").click()
    expect(page.locator("#award-panel").get_by_role("button", name="Book")).to_be_disabled()
    booked = page.get_by_test_id("award-booked")
    expect(booked).to_be_focused()
    expect(page.locator(LIVE)).to_contain_text("Award requested: redemption")
    found = re.search(r"redemption (\d+)", booked.inner_text())
    assert found
    rid = found.group(1)
    status = page.get_by_test_id(f"redemption-{rid}-status")
    expect(status).to_have_text("PENDING")
    shot(page, "a11y-01-award-pending")
    expect(status).to_have_text("CONFIRMED", timeout=30_000)
    expect(page.locator(LIVE)).to_contain_text(f"Redemption {rid} is CONFIRMED.")
    shot(page, "a11y-02-award-confirmed")
    assert dates_that_may_wrap(page, "redemptions") == []
    assert dates_that_may_wrap(page, "statement") == []
    saver = page.locator(f"#redemption-{rid} td").nth(1)  # the fare and the booking reference, apart
    expect(saver).to_contain_text(re.compile(r"economy, saver fare · booking reference \w+"))

    # cancellation: the terms take focus; the refund is announced and its notice stays in view
    page.get_by_test_id(f"cancel-{rid}").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("cancel-terms")).to_be_focused()
    shot(page, "a11y-03-cancel-terms")
    page.get_by_label("Why").fill("plans changed")
    page.get_by_test_id("confirm-cancel").click()
    notice = page.get_by_test_id("cancel-done")
    expect(notice).to_contain_text("22,000 miles returned, 3,000 kept as the fee")
    expect(page.locator(LIVE)).to_contain_text("22,000 miles returned")
    expect(page.get_by_test_id(f"redemption-{rid}-status")).to_have_text("CANCELLED")
    page.wait_for_timeout(1500)  # the member's details have refreshed since: the notice is still there
    expect(notice).to_be_visible()
    expect(notice).to_be_focused()
    shot(page, "a11y-04-cancelled")

    # a refused goodwill form: an alert summary, focus on its first invalid field
    goodwill = page.locator("#goodwill-panel")
    goodwill.get_by_label("Comment").fill("lost bag")
    goodwill.get_by_role("button", name="Grant goodwill").click()
    summary = page.locator("#goodwill-panel [role=alert]")
    expect(summary).to_contain_text("Miles is required")
    expect(page.locator("#gw-miles")).to_be_focused()
    shot(page, "a11y-05-goodwill-refused")

    # goodwill queued for a supervisor: announced, focused
    goodwill = page.locator("#goodwill-panel")
    goodwill.get_by_label("Miles").fill("8000")
    goodwill.get_by_label("Reason").select_option("delay")
    goodwill.get_by_role("button", name="Grant goodwill").click()
    expect(page.get_by_test_id("goodwill-notice")).to_be_focused()
    expect(page.locator(LIVE)).to_contain_text("8,000 miles wait for a supervisor's approval")
    shot(page, "a11y-06-goodwill-queued")

    # a refused claim (no ticket, a carrier that is no code), then one that posts
    claim = page.locator("#claim-panel")
    claim.get_by_label("Carrier").fill("Z")
    claim.get_by_role("button", name="File claim").click()
    expect(page.locator("#claim-panel [role=alert]")).to_be_visible()
    assert focused(page)["id"] == page.locator("#claim-panel [aria-invalid=true]").first.get_attribute("id")
    assert focused(page)["panel"] == "claim-panel"
    shot(page, "a11y-07-claim-refused")


def test_a_refused_sign_in_and_a_refused_filter_say_why_in_an_alert_and_focus_the_field(
    page: Page, live_console: LiveConsole, unique: str
) -> None:
    agent(live_console, f"lee-{unique}", role="supervisor")
    page.goto("/console/sign-in")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("#name")).to_be_focused()
    assert_accessible(page, "sign-in refused")
    sign_in(page, f"lee-{unique}")
    page.goto("/console/audit?member=12345")
    expect(page.get_by_role("alert")).to_contain_text("Not sent")
    expect(page.locator("#f-member")).to_be_focused()
    assert_accessible(page, "audit with a refused filter")


def test_the_browser_tests_database_is_not_the_one_integration_tests_truncate(
    page: Page, live_console: LiveConsole, database_url: str, unique: str
) -> None:
    agent(live_console, f"uma-{unique}")
    number = member(live_console, "Ada", f"Byron{unique}", f"byron.{unique}@example.com")
    integration = make_engine(database_url, pool_size=1)
    try:
        reset(integration)  # what every integration test does first, on the same run's database
    finally:
        integration.dispose()
    with live_console.container.engine.connect() as c:
        assert (
            c.execute(text("SELECT count(*) FROM members WHERE member_number = :n"), {"n": number}).scalar()
            == 1
        )
    sign_in(page, f"uma-{unique}")
    page.goto(f"/console/members/{number}")
    expect(page.get_by_test_id("member-number")).to_have_text(number)


def test_the_statement_is_in_one_order_newest_first_and_dates_do_not_wrap(
    page: Page, live_console: LiveConsole, unique: str
) -> None:
    agent(live_console, f"ned-{unique}")
    number = member(live_console, "Mary", f"Shelley{unique}", f"mary.{unique}@example.com", miles=30_000)
    sign_in(page, f"ned-{unique}")
    page.goto(f"/console/members/{number}")
    claim = page.locator("#claim-panel")  # a flight flown ten days ago, posted after today's goodwill
    claim.get_by_label("Ticket number").fill(next_ticket())
    claim.get_by_label("Coupon").fill("1")
    claim.get_by_label("Carrier").fill("YY")
    claim.get_by_label("Flight", exact=True).fill("123")
    claim.get_by_label("Class").fill("Y")
    claim.get_by_label("From").fill("JFK")
    claim.get_by_label("To").fill("LHR")
    claim.get_by_label("Departure").fill(FLOWN)
    claim.get_by_role("button", name="File claim").click()
    expect(page.get_by_test_id("claim-notice")).to_be_visible()
    page.reload()
    # one heading per card, one sentence about expiry, a favicon the page links and the server serves
    headings = page.locator("main h2").all_inner_texts()
    assert len(headings) == len(set(headings)), headings
    expiry = page.locator("section.balances p")
    expect(expiry).to_have_count(1)
    expect(expiry).to_have_text(re.compile(r"^No miles expire by \d{4}-\d{2}-\d{2}\.$"))
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert icon
    served = page.request.get(icon)
    assert served.status == 200
    assert served.headers["content-type"].startswith("image/svg+xml")
    dates = page.get_by_test_id("statement").locator("tbody tr td:first-child").all_inner_texts()
    assert len(dates) == 2
    assert dates == sorted(dates, reverse=True), dates
    assert dates[-1] == FLOWN


def dates_that_may_wrap(page: Page, table: str) -> list[str]:
    """The cells of a table's date columns (by their header) that the browser may break over lines."""
    return page.evaluate(
        """testid => { const table = document.querySelector(`[data-testid="${testid}"]`);
             const heads = Array.from(table.querySelectorAll('thead th'));
             const cols = heads.flatMap((th, i) => /^(Date|Booked|When|Filed|Earned|Expires)$/.test(th.textContent.trim()) ? [i] : []);
             return Array.from(table.querySelectorAll('tbody tr')).flatMap(tr => cols.map(i => tr.children[i]))
               .filter(td => td && getComputedStyle(td).whiteSpace !== 'nowrap').map(td => td.textContent.trim()); }""",
        table,
    )
