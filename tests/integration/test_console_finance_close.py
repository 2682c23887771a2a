"""Finance closes a month from the console: the months page (a close form, the liability and revenue
charts), a refused close says why next to the field, a closed month's page shows the API's figures and a
breakage chart, and its CSV files download; other roles are refused."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from fastapi.testclient import TestClient

from miles.bootstrap import Container
from miles.services.clock import FixedClock
from tests.integration.console_helpers import console_client, csrf, field_errors, make_agent, signed_in
from tests.integration.finance_data import at, two_months


def figures(html: str) -> dict[str, str]:
    return {
        k: re.sub(r"<[^>]+>", "", v).strip().replace(",", "")
        for k, v in re.findall(r'<tr data-figure="([a-z_]+)">.*?<td class="num">(.*?)</td>', html, re.S)
    }


def test_a_finance_agent_closes_a_month_from_the_console_and_downloads_it(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    two_months(client, container, clock)
    at(clock, date(2026, 12, 2))
    make_agent(container, "fay", role="finance")
    with console_client(container) as finance:
        token = signed_in(finance, "fay")
        home = finance.get("/console/finance")
        assert home.status_code == 200, home.text
        assert 'name="month" type="text" value="2026-11"' in home.text  # last month, none closed yet
        assert 'data-testid="no-months"' in home.text
        assert 'data-testid="liability-chart"' in home.text
        early = finance.post("/console/finance/close", data={"csrf_token": token, "month": "2026-12"})
        assert early.status_code == 422
        assert "not over yet" in field_errors(early.text)["month"]
        bad = finance.post("/console/finance/close", data={"csrf_token": token, "month": "11/2026"})
        assert (bad.status_code, "month" in field_errors(bad.text)) == (422, True)
        for month in ("2026-10", "2026-11"):
            done = finance.post("/console/finance/close", data={"csrf_token": csrf(finance), "month": month})
            assert done.status_code == 303, done.text
            assert done.headers["location"] == f"/console/finance/months/{month}"
        page = finance.get("/console/finance/months/2026-11")
        assert page.status_code == 200
        api = client.get("/v1/finance/periods/2026-11").json()
        shown = figures(page.text)
        for name in ("miles_redeemed", "miles_expired", "miles_outstanding", "revenue_recognised"):
            assert shown[name] == str(api[name]), name
        assert shown["deferred_revenue_closing"] == api["deferred_revenue_closing"]
        assert 'data-testid="state">closed' in page.text
        chart = re.search(r'<svg[^>]*data-testid="breakage-chart".*?</svg>', page.text, re.S)
        assert chart
        assert re.findall(r'data-cohort="([0-9-]+)"', chart.group(0)) == ["2026-10", "2026-11"]
        cohorts = finance.get("/console/finance/months/2026-11/cohorts.csv")
        assert cohorts.headers["content-type"].startswith("text/csv")
        assert "attachment" in cohorts.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(cohorts.text)))
        assert [r["earn_month"] for r in rows] == [c["earn_month"] for c in api["cohorts"]]
        assert [r["revenue_to_date"] for r in rows] == [c["revenue_to_date"] for c in api["cohorts"]]
        months = list(csv.DictReader(io.StringIO(finance.get("/console/finance/months.csv").text)))
        assert [m["month"] for m in months] == ["2026-10", "2026-11"]
        assert months[1]["revenue_recognised"] == api["revenue_recognised"]
        liability = finance.get("/console/finance/months/2026-11/liability.csv").text
        outstanding = sum(int(r["outstanding"]) for r in csv.DictReader(io.StringIO(liability)))
        assert outstanding == api["miles_outstanding"] + api["debts"]
        home = finance.get("/console/finance")
        assert re.findall(r'<tr data-month="([0-9-]+)">', home.text) == ["2026-11", "2026-10"]
        assert 'value="2026-12"' in home.text
        assert 'data-testid="next-not-over"' in home.text
        assert finance.get("/console/finance/months/2026-11/other.csv").status_code == 404


def test_only_finance_closes_months(client: TestClient, container: Container) -> None:
    make_agent(container, "meg", role="manager")
    with console_client(container) as other:
        token = signed_in(other, "meg")
        assert other.get("/console/finance").status_code == 403
        refused = other.post("/console/finance/close", data={"csrf_token": token, "month": "2026-10"})
        assert refused.status_code == 403
        assert other.get("/console/finance/months/2026-10/cohorts.csv").status_code == 403
