"""Finance's pages in the console: a finance agent sees every partner's last twelve months (a closed month
as it was closed, the open one as it stands, the same figures the API answers) and a chart of the miles
issued per partner per month; agents, supervisors and managers are refused."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient

from miles.bootstrap import Container
from miles.services.clock import FixedClock
from miles.services.partners.settlement import close_month
from tests.integration.console_helpers import console_client, make_agent, signed_in
from tests.integration.factories import enrol

PAGE = "/console/finance/partners"


def row(html: str, partner: str, month: str) -> dict[str, str]:
    """The cells (by data-col) of a partner's month on the page."""
    table = re.search(rf'data-testid="partner-{partner}".*?</table>', html, re.S)
    assert table, f"no table for {partner}"
    found = re.search(rf'<tr data-month="{month}">(.*?)</tr>', table.group(0), re.S)
    assert found, f"no row {month} for {partner}"
    cells = dict(re.findall(r'data-col="([a-z_]+)">(.*?)</td>', found.group(1), re.S))
    assert cells.pop("month") == month
    return {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in cells.items()}


def test_a_finance_agent_sees_each_partners_months_closed_and_open_with_a_chart(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    member = enrol(client)
    rental = {"member_number": member, "activity_id": "R-1", "activity_date": "2026-11-22", "days": 4}
    assert client.post("/v1/partners/CAR/activities", json=rental).status_code == 201
    stay = {"member_number": member, "activity_id": "H-1", "activity_date": "2026-11-02", "nights": 3}
    assert client.post("/v1/partners/HTL/activities", json=stay).json()["status"] == "posted"
    clock.at = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    close_month(container, date(2026, 11, 1), "test:finance")
    december = {"member_number": member, "activity_id": "R-2", "activity_date": "2026-12-01", "days": 1}
    assert client.post("/v1/partners/CAR/activities", json=december).status_code == 201
    assert (
        client.post("/v1/partners/CAR/activities/R-1/reversal", json={"reason": "refunded"}).status_code
        == 201
    )

    make_agent(container, "fay", role="finance")
    with console_client(container) as finance:
        signed_in(finance, "fay")
        assert f'href="{PAGE}"' in finance.get("/console/members").text
        page = finance.get(PAGE)
    assert page.status_code == 200, page.text
    html = page.text

    car_nov = client.get("/v1/partners/CAR/settlements/2026-11").json()
    assert row(html, "CAR", "2026-11") == {
        "issued": "1,000",
        "reversed": "0",
        "net": "1,000",
        "amount_due": f"{car_nov['amount_due']} USD",
        "state": "closed",
    }
    car_dec = client.get("/v1/partners/CAR/settlements/2026-12").json()
    assert (car_dec["miles_issued"], car_dec["miles_reversed"], car_dec["amount_due"]) == (250, 1000, "-7.50")
    assert row(html, "CAR", "2026-12") == {
        "issued": "250",
        "reversed": "1,000",
        "net": "-750",
        "amount_due": "-7.50 USD",
        "state": "open",
    }
    assert row(html, "HTL", "2026-11")["issued"] == "1,500"
    assert row(html, "HTL", "2026-11")["state"] == "closed"
    assert row(html, "CARD", "2026-11") == {
        "issued": "0",
        "reversed": "0",
        "net": "0",
        "amount_due": "0.00 USD",
        "state": "closed",
    }
    assert row(html, "CARD", "2026-01")["state"] == "open"  # the twelve months: 2026-01 to 2026-12
    assert 'data-month="2025-12"' not in html

    chart = re.search(r'<svg[^>]*data-testid="issued-chart".*?</svg>', html, re.S)
    assert chart, "no chart"
    bars = re.findall(
        r'<rect class="bar"[^>]*data-partner="(\w+)" data-month="([0-9-]+)" data-miles="(\d+)"',
        chart.group(0),
    )
    assert len(bars) == 3 * 12
    issued = {(p, m): int(miles) for p, m, miles in bars if int(miles)}
    assert issued == {("CAR", "2026-11"): 1000, ("HTL", "2026-11"): 1500, ("CAR", "2026-12"): 250}
    assert "<script" not in chart.group(0)


def test_only_finance_sees_the_finance_pages(container: Container) -> None:
    for name, role in (("ann", "agent"), ("sam", "supervisor"), ("meg", "manager")):
        make_agent(container, name, role=role)
        with console_client(container) as other:
            signed_in(other, name)
            refused = other.get(PAGE)
            assert refused.status_code == 403, (role, refused.status_code)
            assert "This page is for finance." in refused.text
            assert "<svg" not in refused.text
            assert f'href="{PAGE}"' not in other.get("/console/members").text
    with console_client(container) as nobody:
        assert nobody.get(PAGE).headers["location"].startswith("/console/sign-in?next=")
