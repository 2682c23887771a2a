"""The loyalty team's retention pages: a manager sees who was lost and why, who came back and by which
promotion, segment sizes, the cohort heat map and the promotions' cost, each equal to the API's answer and
downloadable as CSV; a bad range is refused next to its field; other roles are refused."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from tests.integration.console_helpers import console_client, field_errors, make_agent, signed_in
from tests.integration.retention_data import build

RANGE = {"from": "2026-09", "to": "2026-11"}


def cells(html: str, table: str, key: str, value: str) -> dict[str, str]:
    found = re.search(rf'data-testid="{table}".*?</table>', html, re.S)
    assert found, table
    row = re.search(rf'<tr {key}="{value}">(.*?)</tr>', found.group(0), re.S)
    assert row, (table, value)
    return {
        k: re.sub(r"<[^>]+>", "", v).strip()
        for k, v in re.findall(r'data-col="([a-z_0-9]+)">(.*?)</td>', row.group(1), re.S)
    }


def test_a_manager_sees_who_left_and_who_came_back_as_the_api_answers(
    client: TestClient, container: Container, engine: Engine
) -> None:
    build(client, engine)
    make_agent(container, "meg", role="manager")
    with console_client(container) as manager:
        signed_in(manager, "meg")
        assert 'href="/console/retention"' in manager.get("/console/members").text
        page = manager.get("/console/retention", params=RANGE)
        assert page.status_code == 200, page.text
        lost = client.get("/v1/analytics/lost", params=RANGE).json()["months"]
        for month in lost:
            shown = cells(page.text, "lost", "data-month", month["month"])
            assert shown["lost"] == str(month["lost"])
            assert {c: shown[c] for c in month["causes"]} == {c: str(n) for c, n in month["causes"].items()}
        assert cells(page.text, "won-back", "data-month", "2026-10") == {
            "won_back": "2",
            "promotions": "WELCOME-BACK: 1, none: 1",
        }
        chart = re.search(r'<svg[^>]*data-testid="lost-chart".*?</svg>', page.text, re.S)
        assert chart
        bars = re.findall(r'data-cause="(\w+)" data-month="([0-9-]+)" data-members="(\d+)"', chart.group(0))
        assert {(c, m): int(n) for c, m, n in bars if int(n)} == {
            ("complaint", "2026-10"): 1,
            ("downgrade", "2026-10"): 1,
            ("expiry", "2026-11"): 1,
            ("none", "2026-11"): 2,
        }
        assert 'data-testid="won-back-chart"' in page.text
        assert 'data-testid="segments-chart"' in page.text
        exported = manager.get("/console/retention/export/lost.csv", params=RANGE)
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(r["month"], r["lost"]) for r in rows] == [(m["month"], str(m["lost"])) for m in lost]

        with engine.begin() as c:
            c.execute(text("UPDATE members SET created_at = '2026-09-01T10:00:00Z'"))
        heat = manager.get("/console/retention/cohorts", params={"from": "2026-09", "to": "2026-09"})
        assert heat.status_code == 200
        api = client.get("/v1/analytics/cohorts", params={"from": "2026-09", "to": "2026-09"}).json()
        retained = api["cohorts"][0]["retained"]
        cellsvg = re.findall(
            r'<g class="cell" data-cohort="2026-09" data-month="(\d+)" data-share="([0-9.]+)"', heat.text
        )
        assert [s for _, s in sorted(cellsvg, key=lambda x: int(x[0]))] == [
            r for r in retained if r is not None
        ]

        promotions = manager.get("/console/retention/promotions", params=RANGE)
        assert cells(promotions.text, "promotions", "data-promotion", "WELCOME-BACK")["reactivated"] == "1"
        assert "24.00" in cells(promotions.text, "promotions", "data-promotion", "WELCOME-BACK")["per_member"]

        bad = manager.get("/console/retention", params={"from": "2026-11", "to": "2026-09"})
        assert bad.status_code == 422
        assert "before it starts" in field_errors(bad.text)["from"]
        assert manager.get("/console/retention/export/other.csv").status_code == 404


def test_only_managers_see_the_retention_pages(container: Container) -> None:
    for name, role in (("ann", "agent"), ("fay", "finance")):
        make_agent(container, name, role=role)
        with console_client(container) as other:
            signed_in(other, name)
            for path in (
                "/console/retention",
                "/console/retention/cohorts",
                "/console/retention/export/lost.csv",
            ):
                assert other.get(path).status_code == 403, (role, path)


def test_a_bad_export_is_the_consoles_error_page_never_a_plain_text_answer(container: Container) -> None:
    make_agent(container, "meg", role="manager")
    with console_client(container) as manager:
        signed_in(manager, "meg")
        unknown = manager.get("/console/retention/export/other.csv")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("text/html")
        reversed_range = manager.get(
            "/console/retention/export/lost.csv", params={"from": "2026-11", "to": "2026-10"}
        )
        assert reversed_range.status_code == 422
        assert reversed_range.headers["content-type"].startswith("text/html")
        assert "before it starts" in reversed_range.text
