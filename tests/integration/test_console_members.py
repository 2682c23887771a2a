"""Finding a member (by number with its Luhn hint, by name, by e-mail; on indexes that hold up on a
million members) and the member page: standing, progress, balances, expiring lots, statement, history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.adapters.db.member_search import BY_EMAIL, BY_FAMILY, BY_FULL_NAME, like_prefix
from miles.bootstrap import Container
from miles.services.clock import FixedClock
from tests.integration.console_helpers import HTMX, console_client, make_agent, signed_in
from tests.integration.factories import coupon, enrol


@pytest.fixture
def console(container: Container) -> TestClient:
    make_agent(container, "mia")
    with console_client(container) as tc:
        signed_in(tc, "mia")
        yield tc  # type: ignore[misc]


def test_a_whole_member_number_goes_straight_to_the_member_page(
    client: TestClient, console: TestClient
) -> None:
    member = enrol(client)
    response = console.get(f"/console/members?q={member}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/members/{member}"


def test_a_mistyped_member_number_gets_a_hint_as_it_is_typed(client: TestClient, console: TestClient) -> None:
    member = enrol(client)
    typo = member[:9] + str((int(member[9]) + 1) % 10)
    hint = console.get(f"/console/members?q={typo}", headers=HTMX)
    assert hint.status_code == 200
    assert "fails its check digit: mistyped?" in hint.text
    assert 'data-testid="search-results"' not in hint.text
    assert "10 digits (6 so far)" in console.get(f"/console/members?q={member[:6]}", headers=HTMX).text
    unknown = console.get("/console/members?q=1000000990")
    assert unknown.status_code == 200
    assert "no member 1000000990" in unknown.text


def test_members_are_found_by_the_start_of_their_name_or_email(
    client: TestClient, console: TestClient
) -> None:
    ada = enrol(client, "Ada", "Lovelace")
    enrol(client, "Adam", "Lovell")
    enrol(client, "Grace", "Hopper")

    def numbers(q: str) -> list[str]:
        html = console.get("/console/members", params={"q": q}, headers=HTMX).text
        return re.findall(r'href="/console/members/([0-9]{10})"', html)

    assert len(numbers("lovel")) == 2
    assert numbers("Ada Lovelace") == [ada]
    assert numbers("lovelace ada") == [ada]
    assert numbers("Lovelace, Ada") == [ada]
    assert len(numbers("a@b.EXAMPLE")) == 3  # factories give everyone a@b.example
    assert numbers("lov%") == []  # LIKE wildcards are taken literally
    assert "at least 2 letters" in console.get("/console/members?q=L", headers=HTMX).text


def test_member_search_uses_indexes_on_a_large_table(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(
            text(
                """
                INSERT INTO members (member_number, given_name, family_name, email, tier, lifetime_tier,
                                     period_start)
                SELECT '9' || lpad(i::text, 9, '0'), 'Given' || i, 'Family' || i, 'user' || i || '@example.com',
                       'BLUE', 'BLUE', DATE '2026-01-01'
                FROM generate_series(1, 50000) AS i
                """
            )
        )
        c.execute(text("ANALYZE members"))
    queries = [
        (BY_EMAIL, {"p": like_prefix("user4242@"), "n": 26}),
        (BY_FAMILY, {"f": like_prefix("family4242"), "n": 26}),
        (BY_FULL_NAME, {"a": like_prefix("given4242"), "b": like_prefix("family4242"), "n": 26}),
    ]
    with engine.connect() as c:
        for query, params in queries:
            plan = "\n".join(r[0] for r in c.execute(text(f"EXPLAIN {query.text}"), params))
            assert "Seq Scan" not in plan, plan
            assert re.search(
                r"Index (Only )?Scan using members_\w+_idx|Bitmap Index Scan on members_\w+_idx", plan
            ), plan


def test_the_member_page_shows_standing_balances_expiring_lots_statement_and_tier_history(
    client: TestClient, console: TestClient, clock: FixedClock
) -> None:
    member = enrol(client, "Grace", "Hopper")
    now = clock.at
    clock.at = datetime(2023, 11, 20, 12, tzinfo=UTC)  # each coupon posted days after it was flown
    old = client.post("/v1/accruals/flights", json=coupon(member, departure_date="2023-11-15"))
    assert old.status_code == 201  # a lot that expires at the end of 2026-11: within 90 days
    for day in ("2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01", "2026-07-01"):
        clock.at = datetime.fromisoformat(f"{day}T12:00:00+00:00") + timedelta(days=3)
        assert (
            client.post(
                "/v1/accruals/flights", json=coupon(member, booking_class="F", departure_date=day)
            ).status_code
            == 201
        )
    clock.at = now
    page = console.get(f"/console/members/{member}")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="tier">SILVER<' in html
    assert 'data-testid="tier-valid-until">2028-02-29<' in html
    assert "To GOLD in 2026" in html
    assert 'value="51"' in html
    summary = client.get(f"/v1/members/{member}").json()
    assert f'data-testid="award-miles">{summary["award_miles"]:,}<' in html
    assert f'data-testid="available-miles">{summary["available_miles"]:,}<' in html
    assert "2026-11-30" in html.split('data-testid="expiring-lots"')[1].split("</table>")[0]
    statement = html.split('data-testid="statement"')[1].split("</table>")[0]
    assert statement.count("Miles for a flown coupon") == 6
    assert "YY123 JFK-LHR 2026-07-01" in statement
    history = html.split('data-testid="tier-history"')[1].split("</table>")[0]
    assert "BLUE → SILVER" in history
    assert "qualified" in history


def test_a_member_name_with_html_in_it_is_shown_as_text(client: TestClient, console: TestClient) -> None:
    member = enrol(client, "<script>alert(1)</script>", "<img src=x onerror=alert(2)>")
    for html in (
        console.get(f"/console/members/{member}").text,
        console.get("/console/members", params={"q": "<img"}, headers=HTMX).text,
    ):
        assert "<script>alert(1)" not in html
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_the_statement_pages_back_through_older_transfers(
    container: Container, client: TestClient, console: TestClient
) -> None:
    member = enrol(client)
    origins = ["SEA", "SFO", "ORD", "ATL", "BOS", "MIA", "DFW", "DEN", "LAX", "IAD", "PHL", "PHX", "IAH"]
    items = [coupon(member, origin=o, departure_date=f"2026-0{m}-1{m}") for o in origins for m in (6, 7)]
    assert client.post("/v1/accruals/flights/batch", json={"items": items}).status_code == 200
    page = console.get(f"/console/members/{member}").text
    statement = page.split('data-testid="statement"')[1].split("</table>")[0]
    assert statement.count("<tr>") - 1 == 20  # the header row and a page of 20
    cursor = re.search(r"statement\?cursor=([A-Za-z0-9_-]+)", statement)
    assert cursor
    older = console.get(f"/console/members/{member}/statement?cursor={cursor.group(1)}", headers=HTMX).text
    assert older.count("Miles for a flown coupon") == 6
    assert "Older transfers" not in older


def test_an_unknown_member_page_is_404_and_a_mistyped_number_is_422_as_the_api_answers(
    client: TestClient, console: TestClient
) -> None:
    """One mapping from the error tree to statuses: the member page answers as GET /v1/members does."""
    unknown = console.get("/console/members/1000000990")
    assert unknown.status_code == 404 == client.get("/v1/members/1000000990").status_code
    assert "no member 1000000990" in unknown.text
    assert "Not found" in unknown.text
    for number in ("1000000017", "12345", "ABCDEFGHIJ"):
        api = client.get(f"/v1/members/{number}")
        page = console.get(f"/console/members/{number}")
        statement = console.get(f"/console/members/{number}/statement", headers=HTMX)
        assert page.status_code == statement.status_code == api.status_code == 422, number
        assert page.headers["content-type"].startswith("text/html")  # the console's page, not the JSON body
        assert "Check what was entered" in page.text
        assert api.json()["error"]["message"] in unescape(page.text)
    assert "mistyped?" in console.get("/console/members/1000000017").text


def test_the_member_page_forms_each_carry_their_own_request_key(
    client: TestClient, console: TestClient, engine: Engine
) -> None:
    """Sent twice (a double click on the page's first form), a goodwill grant is answered once."""
    member = enrol(client)
    page = console.get(f"/console/members/{member}").text
    keys = re.findall(r'name="request_key" value="([^"]*)"', page)
    assert len(keys) == 4, keys  # goodwill, claim, award, complaint
    assert all(keys), keys
    assert len(set(keys)) == 4, keys
    goodwill = re.search(r'action="[^"]+/goodwill".*?name="request_key" value="([^"]*)"', page, re.DOTALL)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert goodwill
    assert token
    form = {"csrf_token": token.group(1), "request_key": goodwill.group(1), "miles": "500"}
    form |= {"reason_code": "delay", "comment": "ZZ12 five hours late"}
    first = console.post(f"/console/members/{member}/goodwill", data=form, headers=HTMX)
    second = console.post(f"/console/members/{member}/goodwill", data=form, headers=HTMX)
    assert first.status_code == second.status_code == 200, second.text
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM goodwill_adjustments")).scalar() == 1


def test_the_member_page_shows_partner_miles_pending_and_posted_with_the_partner_s_name(
    client: TestClient, console: TestClient
) -> None:
    member = enrol(client, "Kate", "Johnson")
    stay = {"member_number": member, "activity_id": "H-77", "activity_date": "2026-11-20", "nights": 2}
    assert client.post("/v1/partners/HTL/activities", json=stay).status_code == 201
    rental = {"member_number": member, "activity_id": "R-9", "activity_date": "2026-11-21", "days": 3}
    assert client.post("/v1/partners/CAR/activities", json=rental).status_code == 201
    html = console.get(f"/console/members/{member}").text
    assert 'data-testid="partner-pending-miles">1,000<' in html
    assert 'data-testid="award-miles">750<' in html
    panel = html.split('data-testid="partner-activity"')[1].split("</table>")[0]
    assert "Aurora Hotels" in panel
    assert "pending: posts on 2026-12-04" in panel
    assert "H-77" in panel
    assert "Aurora Car Rental" in panel
    assert "posted" in panel
    statement = html.split('data-testid="statement"')[1].split("</table>")[0]
    assert "Partner miles" in statement
    assert "Aurora Car Rental: R-9" in statement
    assert "Aurora Hotels" not in statement  # pending: not in the ledger yet
