"""Partner settlement: a month's figures are the miles posted (and reversed after posting) in it; only a
month that is over can be closed, once, and a closed month never changes (a later reversal counts in the
month it happens in); the CSV statement adds up to what the API answers; `miles partners settle` closes
and writes the statements from the command line."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.domain.errors import InvalidInput
from miles.http_errors import status_of
from miles.services.clock import FixedClock
from miles.services.partners.settlement import Closing, close_month, settlement, write_statement
from tests.integration.factories import enrol

NOVEMBER = date(2026, 11, 1)
DECEMBER_FIRST = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PRICES = {"CAR": Decimal("0.0100"), "CARD": Decimal("0.0120"), "HTL": Decimal("0.0085")}


def post(client: TestClient, partner: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(f"/v1/partners/{partner}/activities", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def earn_in_november(client: TestClient, clock: FixedClock) -> dict[str, int]:
    """Activities of every kind, the clock on 2026-11-23: the miles each partner posted in November (one
    stay still pending, one rental posted in October)."""
    member = enrol(client)
    clock.at = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)  # an October rental: October's, not November's
    october = post(
        client,
        "CAR",
        {"member_number": member, "activity_id": "R-0", "activity_date": "2026-10-19", "days": 2},
    )
    assert october["status"] == "posted"
    clock.at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    car = post(
        client,
        "CAR",
        {"member_number": member, "activity_id": "R-1", "activity_date": "2026-11-22", "days": 4},
    )
    card = post(
        client,
        "CARD",
        {
            "member_number": member,
            "activity_id": "C-1",
            "activity_date": "2026-11-23",
            "category": "airline",
            "amount": {"amount": "123.45", "currency": "EUR"},
        },
    )
    old_stay = post(
        client,
        "HTL",
        {"member_number": member, "activity_id": "H-1", "activity_date": "2026-11-05", "nights": 2},
    )
    new_stay = post(
        client,
        "HTL",
        {"member_number": member, "activity_id": "H-2", "activity_date": "2026-11-20", "nights": 3},
    )
    assert [a["status"] for a in (car, card, old_stay, new_stay)] == ["posted", "posted", "posted", "pending"]
    return {"CAR": car["miles"], "CARD": card["miles"], "HTL": old_stay["miles"]}


def api_month(client: TestClient, partner: str, month: str) -> dict[str, Any]:
    answer = client.get(f"/v1/partners/{partner}/settlements/{month}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def by_partner(closings: list[Closing]) -> dict[str, Closing]:
    return {c.view.partner: c for c in closings}


def settled(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as c:
        return [
            tuple(r) for r in c.execute(text("SELECT * FROM partner_settlements ORDER BY partner, month"))
        ]


def test_a_closed_month_is_the_sum_of_the_miles_posted_in_it_at_the_contract_price(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    posted = earn_in_november(client, clock)
    assert posted == {"CAR": 1000, "CARD": 399, "HTL": 1000}
    clock.at = DECEMBER_FIRST
    closings = by_partner(close_month(container, NOVEMBER, "test:finance"))
    assert sorted(closings) == ["CAR", "CARD", "HTL"]
    for partner, miles in posted.items():
        view = closings[partner].view
        assert not closings[partner].already
        assert (view.month, view.closed, view.activities) == ("2026-11", True, 1)
        assert (view.miles_issued, view.miles_reversed, view.net_miles) == (miles, 0, miles)
        assert view.price_per_mile == PRICES[partner]
        assert view.amount_due == (miles * PRICES[partner]).quantize(Decimal("0.01"))
    assert closings["CARD"].view.amount_due == Decimal("4.79")  # 399 x 0.0120 = 4.788, rounded to cents
    assert closings["HTL"].view.amount_due == Decimal("8.50")
    # October's rental and the stay still pending are not November's
    october = api_month(client, "CAR", "2026-10")
    assert (october["closed"], october["miles_issued"], october["amount_due"]) == (False, 500, "5.00")


def test_closing_a_month_again_gives_the_same_figures_and_writes_nothing(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine
) -> None:
    earn_in_november(client, clock)
    clock.at = DECEMBER_FIRST
    first = close_month(container, NOVEMBER, "test:finance")
    rows = settled(engine)
    clock.at = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    again = close_month(container, NOVEMBER, "test:someone-else")
    assert [c.view for c in again] == [c.view for c in first]
    assert all(c.already for c in again)
    assert not any(c.already for c in first)
    assert settled(engine) == rows
    assert len(rows) == 3
    assert {r[-1] for r in rows} == {"test:finance"}


def test_a_reversal_after_the_close_counts_in_the_next_month_and_the_closed_one_never_changes(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    earn_in_november(client, clock)
    clock.at = DECEMBER_FIRST
    close_month(container, NOVEMBER, "test:finance")
    closed_car = api_month(client, "CAR", "2026-11")
    closed_card = api_month(client, "CARD", "2026-11")

    refund = client.post("/v1/partners/CAR/activities/R-1/reversal", json={"reason": "rental refunded"})
    assert refund.status_code == 201, refund.text
    # a reversal that reaches the engine with its clock still in November (a late one): November is closed,
    # so it counts in December too
    clock.at = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    late = client.post("/v1/partners/CARD/activities/C-1/reversal", json={"reason": "purchase returned"})
    assert late.status_code == 201, late.text
    clock.at = DECEMBER_FIRST

    assert api_month(client, "CAR", "2026-11") == closed_car
    assert api_month(client, "CARD", "2026-11") == closed_card
    assert closed_car["closed"] is True
    assert closed_car["miles_reversed"] == 0
    car = api_month(client, "CAR", "2026-12")
    assert (car["closed"], car["miles_issued"], car["miles_reversed"], car["net_miles"]) == (
        False,
        0,
        1000,
        -1000,
    )
    assert car["amount_due"] == "-10.00"
    card = api_month(client, "CARD", "2026-12")
    assert (card["miles_reversed"], card["net_miles"], card["amount_due"]) == (399, -399, "-4.79")


def read_statement(path: Path) -> tuple[list[dict[str, str]], dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    blank = rows.index([])
    header, lines = rows[0], rows[1:blank]
    totals = dict(zip(rows[blank + 1], rows[blank + 2], strict=True))
    return [dict(zip(header, line, strict=True)) for line in lines], totals


def test_a_statement_adds_up_to_what_the_api_answers_for_the_month(
    client: TestClient, container: Container, clock: FixedClock, tmp_path: Path
) -> None:
    earn_in_november(client, clock)
    clock.at = DECEMBER_FIRST
    client.post("/v1/partners/CAR/activities/R-0/reversal", json={"reason": "October's rental refunded"})
    closings = close_month(container, NOVEMBER, "test:finance")
    for closing in closings:
        path = write_statement(container, closing.view, tmp_path)
        assert path == tmp_path / f"settlement-{closing.view.partner}-2026-11.csv"
        lines, totals = read_statement(path)
        api = api_month(client, closing.view.partner, "2026-11")
        api.pop("activities")
        assert {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in api.items()} == totals
        assert sum(int(x["miles_issued"]) for x in lines) == api["miles_issued"]
        assert sum(int(x["miles_reversed"]) for x in lines) == api["miles_reversed"]
    # the open month's statement too: December holds the October rental's reversal
    view = settlement(container, "CAR", date(2026, 12, 1))
    lines, totals = read_statement(write_statement(container, view, tmp_path))
    assert [(x["activity_id"], x["miles_issued"], x["miles_reversed"]) for x in lines] == [
        ("R-0", "0", "500")
    ]
    assert totals["closed"] == "false"
    assert totals["amount_due"] == api_month(client, "CAR", "2026-12")["amount_due"] == "-5.00"


def test_a_month_not_over_cannot_be_closed_and_answers_as_open(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine
) -> None:
    posted = earn_in_november(client, clock)
    with pytest.raises(InvalidInput) as refused:
        close_month(container, NOVEMBER, "test:finance")
    assert (refused.value.code, refused.value.field, status_of(refused.value)) == (
        "month_not_over",
        "month",
        422,
    )
    clock.at = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)  # its last second: still not over
    with pytest.raises(InvalidInput, match="not over"):
        close_month(container, NOVEMBER, "test:finance")
    assert settled(engine) == []
    open_month = api_month(client, "CARD", "2026-11")
    assert open_month == {
        "partner": "CARD",
        "month": "2026-11",
        "closed": False,
        "activities": 1,
        "miles_issued": posted["CARD"],
        "miles_reversed": 0,
        "net_miles": posted["CARD"],
        "price_per_mile": "0.012000",
        "amount_due": "4.79",
        "currency": "USD",
    }
    clock.at = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # the first instant of December: November is over
    assert len(close_month(container, NOVEMBER, "test:finance")) == 3


def miles_cli(database_url: str, clock_at: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MILES_DATABASE_URL": database_url, "MILES_CLOCK_AT": clock_at, "COLUMNS": "220"}
    return subprocess.run(
        [sys.executable, "-m", "miles.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_settle_command_closes_the_month_writes_the_statements_and_prints_the_figures(
    client: TestClient, clock: FixedClock, database_url: str, tmp_path: Path, engine: Engine
) -> None:
    earn_in_november(client, clock)
    out = tmp_path / "statements"
    early = miles_cli(
        database_url,
        "2026-11-30T12:00:00+00:00",
        "partners",
        "settle",
        "--month",
        "2026-11",
        "--out",
        str(out),
    )
    assert early.returncode == 2, early.stdout + early.stderr
    assert "not over" in early.stderr
    assert not out.exists()
    bad = miles_cli(database_url, "2026-12-02T09:00:00+00:00", "partners", "settle", "--month", "2026-13")
    assert bad.returncode == 2
    assert "YYYY-MM" in bad.stderr

    done = miles_cli(
        database_url,
        "2026-12-02T09:00:00+00:00",
        "partners",
        "settle",
        "--month",
        "2026-11",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "settlement-CAR-2026-11.csv",
        "settlement-CARD-2026-11.csv",
        "settlement-HTL-2026-11.csv",
    ]
    table = {
        p: next(x for x in done.stdout.splitlines() if f"settlement-{p}-2026-11.csv" in x) for p in PRICES
    }
    assert "1,000" in table["CAR"]
    assert "10.00" in table["CAR"]
    assert "USD" in table["CAR"]
    assert "399" in table["CARD"]
    assert "4.79" in table["CARD"]
    assert "8.50" in table["HTL"]
    assert "settlement-HTL-2026-11.csv" in table["HTL"]
    assert "already closed" not in done.stdout
    by = {r[0]: r[-1] for r in settled(engine)}
    assert set(by) == {"CAR", "CARD", "HTL"}
    assert all(v.startswith("cli:") for v in by.values())
    _, totals = read_statement(out / "settlement-CARD-2026-11.csv")
    assert (totals["miles_issued"], totals["amount_due"]) == ("399", "4.79")

    (out / "settlement-HTL-2026-11.csv").unlink()
    rows = settled(engine)
    again = miles_cli(
        database_url,
        "2026-12-05T09:00:00+00:00",
        "partners",
        "settle",
        "--month",
        "2026-11",
        "--out",
        str(out),
    )
    assert again.returncode == 0, again.stderr
    assert "already closed" in again.stdout
    assert settled(engine) == rows
    assert (out / "settlement-HTL-2026-11.csv").exists()
    figures = [line.split("│")[1:9] for line in done.stdout.splitlines() if "settlement-" in line]
    assert figures == [line.split("│")[1:9] for line in again.stdout.splitlines() if "settlement-" in line]
