"""A month's close: the figures come from the miles posted in the month (flights, a reversal, goodwill, an
award), the liability adds up to the members' balances, months close once and in order, only when over, and
activity after a close changes the next month only."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.domain.errors import InvalidInput
from miles.domain.finance.breakage import RateBasis
from miles.domain.finance.liability import Source
from miles.services.clock import FixedClock
from miles.services.finance.close import Closing, close_month, period
from tests.integration.factories import coupon, enrol
from tests.integration.finance_data import (
    DECEMBER,
    NOVEMBER,
    OCTOBER,
    accrue,
    at,
    goodwill,
    member_balances,
    two_months,
)
from tests.integration.redemption_helpers import flight, redeem, set_supplier, wait_for
from tests.integration.test_partner_settlement import miles_cli


def test_a_closed_month_holds_the_miles_posted_in_it_by_source_and_adds_up_to_the_balances(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine
) -> None:
    miles = two_months(client, container, clock)
    at(clock, date(2026, 12, 2))
    october = close_month(container, OCTOBER, "test:finance").measured.record
    assert october.issued(Source.FLIGHTS) == miles["ada_october"] + miles["bob_october"]
    assert (october.issued_total, october.miles_redeemed, october.miles_expired) == (
        miles["ada_october"] + miles["bob_october"],
        0,
        0,
    )
    assert october.miles_outstanding == october.issued_total
    assert (october.opening_computed, october.deferred_opening) == (True, 0)
    closing = close_month(container, NOVEMBER, "test:finance")
    november = closing.measured.record
    assert not closing.already
    assert november.issued(Source.FLIGHTS) == miles["ada_november"] - miles["bob_october"]
    assert november.issued(Source.GOODWILL) == 30_000
    assert november.issued(Source.PARTNERS) == november.issued(Source.PROMOTIONS) == 0
    assert november.miles_redeemed == miles["award"]
    assert november.miles_outstanding == member_balances(engine) == november.ledger_balance
    assert november.miles_outstanding == october.miles_outstanding + november.issued_total - miles["award"]
    assert (november.debts, november.miles_held) == (0, 0)
    # the roll-forward: November opens with October's closing, and closes on what its cohorts still defer
    assert november.deferred_opening == october.deferred_closing
    cohorts = closing.measured.cohorts
    month_miles = {c.earn_month: c.net_issued for c in cohorts}
    month_miles[OCTOBER] -= october.issued_total  # what October's cohort gained in November (a reversal)
    assert november.deferred_in_month == sum(
        (m * Decimal("0.012")).quantize(Decimal("0.01")) for m in month_miles.values()
    )
    assert november.deferred_closing == sum(c.allocated - c.revenue_to_date for c in cohorts)
    assert november.revenue_recognised == sum(c.recognised for c in cohorts)
    # October's lots are all settled (redeemed or reversed): it tells its own rate, nothing expired, 0 %;
    # November's cohort is young and takes that average
    by_month = {c.earn_month: c for c in cohorts}
    oct_cohort = by_month[OCTOBER]
    assert (oct_cohort.breakage_rate, oct_cohort.breakage_basis) == (Decimal(0), RateBasis.OBSERVED)
    assert (november.breakage_rate, november.breakage_basis) == (Decimal(0), RateBasis.MATURE_AVERAGE.value)
    assert oct_cohort.revenue_to_date == oct_cohort.allocated  # all of it redeemed: all recognised
    assert oct_cohort.redeemed == miles["ada_october"]  # the award drew October's lot first
    assert oct_cohort.revenue_to_date == (
        oct_cohort.allocated * oct_cohort.redeemed / oct_cohort.net_issued
    ).quantize(Decimal("0.01"))


def test_a_month_closed_twice_gives_the_same_figures_and_later_activity_changes_the_next_month_only(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine
) -> None:
    two_months(client, container, clock)
    at(clock, date(2026, 12, 2))
    close_month(container, OCTOBER, "test:finance")
    first = close_month(container, NOVEMBER, "test:finance")
    with engine.connect() as c:
        rows = c.execute(text("SELECT count(*) FROM finance_period_lines")).scalar_one()
    late = enrol(client, "Cy", "Late")
    at(clock, date(2026, 12, 3))
    late_miles = accrue(client, late, date(2026, 11, 20))[
        "award_miles"
    ]  # a November flight, posted in December
    again = close_month(container, NOVEMBER, "test:finance")
    assert again.already
    assert again.measured.record == first.measured.record
    assert again.measured.cohorts == first.measured.cohorts
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM finance_period_lines")).scalar_one() == rows
    assert period(container, NOVEMBER).measured.record == first.measured.record
    december = period(container, DECEMBER)
    assert not december.closed
    assert december.measured.record.issued(Source.FLIGHTS) == late_miles
    assert december.measured.record.deferred_opening == first.measured.record.deferred_closing


def test_only_a_month_that_is_over_closes_and_months_close_in_order(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    two_months(client, container, clock)
    at(clock, date(2026, 11, 30), hour=23)
    with pytest.raises(InvalidInput) as caught:
        close_month(container, NOVEMBER, "test:finance")
    assert caught.value.code == "month_not_over"
    at(clock, date(2026, 12, 2))
    close_month(container, OCTOBER, "test:finance")
    for month in (date(2026, 9, 1), DECEMBER.replace(year=2027)):
        with pytest.raises(InvalidInput) as caught:
            close_month(container, month, "test:finance")
        assert caught.value.code in ("month_out_of_order", "month_not_over")
    with pytest.raises(InvalidInput) as caught:
        close_month(container, date(2026, 9, 1), "test:finance")
    assert caught.value.code == "month_out_of_order"
    assert isinstance(close_month(container, NOVEMBER, "test:finance"), Closing)


def test_the_api_answers_a_month_as_closed_or_as_it_stands_and_refuses_bad_months(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    miles = two_months(client, container, clock)
    at(clock, date(2026, 12, 2))
    open_november = client.get("/v1/finance/periods/2026-11")
    assert open_november.status_code == 200, open_november.text
    assert open_november.json()["closed"] is False
    close_month(container, OCTOBER, "test:finance")
    close_month(container, NOVEMBER, "test:finance")
    body = client.get("/v1/finance/periods/2026-11").json()
    assert body["closed"] is True
    assert body["miles_issued"] == {
        "flights": miles["ada_november"] - miles["bob_october"],
        "partners": 0,
        "promotions": 0,
        "goodwill": 30_000,
        "claims": 0,
        "purchases": 0,
        "total": miles["ada_november"] - miles["bob_october"] + 30_000,
    }
    assert {
        k: v for k, v in open_november.json().items() if k not in ("closed", "closed_at", "closed_by")
    } == {k: v for k, v in body.items() if k not in ("closed", "closed_at", "closed_by")}
    assert (body["currency"], body["miles_redeemed"], body["closed_by"]) == (
        "USD",
        miles["award"],
        "test:finance",
    )
    assert (
        body["deferred_revenue_opening"]
        == client.get("/v1/finance/periods/2026-10").json()["deferred_revenue_closing"]
    )
    assert [c["earn_month"] for c in body["cohorts"]] == ["2026-10", "2026-11"]
    assert [(b["partner"], b["closed"], b["net_miles"]) for b in body["partner_billing"]] == [
        ("CAR", False, 0),
        ("CARD", False, 0),
        ("HTL", False, 0),
    ]
    listed = client.get("/v1/finance/periods").json()
    assert [p["month"] for p in listed["periods"]] == ["2026-10", "2026-11"]
    for bad, code in (("2026-13", "invalid_month"), ("2027-01", "future_month")):
        answer = client.get(f"/v1/finance/periods/{bad}")
        assert answer.status_code == 422, answer.text
        assert (answer.json()["error"]["code"], answer.json()["error"]["field"]) == (code, "month")


def test_the_close_command_closes_once_writes_the_files_and_refuses_a_month_not_over(
    client: TestClient, container: Container, clock: FixedClock, database_url: str, tmp_path: Path
) -> None:
    two_months(client, container, clock)
    out = tmp_path / "finance"
    early = miles_cli(database_url, "2026-10-31T12:00:00+00:00", "finance", "close", "--month", "2026-10")
    assert early.returncode == 2
    assert "not over" in early.stderr
    first = miles_cli(
        database_url, "2026-12-02T09:00:00+00:00", "finance", "close", "--month", "2026-10", "--out", str(out)
    )
    assert first.returncode == 0, first.stderr
    assert "miles issued: flights" in first.stdout
    again = miles_cli(
        database_url, "2026-12-02T09:00:00+00:00", "finance", "close", "--month", "2026-10", "--out", str(out)
    )
    assert again.returncode == 0
    assert "already closed" in again.stderr
    with (out / "finance-months.csv").open() as handle:
        months = list(csv.DictReader(handle))
    assert [m["month"] for m in months] == ["2026-10"]
    closed = close_month(container, OCTOBER, "x").measured.record
    assert int(months[0]["issued_total"]) == closed.issued_total
    assert months[0]["deferred_revenue_closing"] == str(closed.deferred_closing.quantize(Decimal("0.01")))
    with (out / "finance-2026-10-liability.csv").open() as handle:
        lines = list(csv.DictReader(handle))
    assert sum(int(line["outstanding"]) for line in lines) == closed.lots_outstanding
    assert (out / "finance-2026-10-cohorts.csv").read_text().startswith("month,earn_month,net_issued")
    shown = miles_cli(database_url, "2026-12-02T09:00:00+00:00", "finance", "show", "--month", "2026-11")
    assert shown.returncode == 0, shown.stderr
    assert "not closed" in shown.stdout


def test_at_a_months_end_the_liability_is_the_balances_with_a_debt_and_a_hold_shown_apart(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine
) -> None:
    """Bob spends most of his miles, then his flight is refunded: a debt no lot carries. Ada's award is still
    held for a supplier that does not answer when November ends: her miles are still owed."""
    at(clock, date(2026, 11, 10))
    ada, bob = enrol(client), enrol(client, "Bob", "Byte")
    flown = client.post("/v1/accruals/flights", json=coupon(bob, departure_date="2026-11-08")).json()
    goodwill(container, bob, 22_000, datetime(2026, 11, 10, 12, tzinfo=UTC))
    goodwill(container, ada, 30_000, datetime(2026, 11, 10, 12, tzinfo=UTC))
    spent = redeem(client, bob, flight())
    container.dispatcher.drain()  # type: ignore[attr-defined]
    wait_for(client, spent.json()["redemption_id"], "CONFIRMED")
    refunded = client.post(f"/v1/accruals/{flown['accrual_id']}/reversal", json={"reason": "refund"})
    assert refunded.json()["balance_after"] == 22_000 + flown["award_miles"] - 25_000 - flown["award_miles"]
    set_supplier(container, "flights", unknown_outcome_rate=1.0)
    at(clock, date(2026, 11, 20))
    held = redeem(client, ada, flight())
    container.dispatcher.drain()  # type: ignore[attr-defined]
    assert client.get(f"/v1/redemptions/{held.json()['redemption_id']}").json()["status"] == "PENDING"
    at(clock, date(2026, 12, 2))
    november = close_month(container, NOVEMBER, "test:finance").measured
    record = november.record
    assert record.debts == 3_000  # what Bob owes beyond his lots
    assert record.miles_held == 25_000  # Ada's award, not redeemed yet
    assert record.miles_outstanding == member_balances(engine) == 30_000 - 3_000
    assert sum(line.outstanding for line in november.lines) - record.debts == record.miles_outstanding
    by_source = {line.source: line.outstanding for line in november.lines}
    assert by_source[Source.GOODWILL] == 30_000  # Ada's lot, untouched while held; Bob's lots are spent
    assert record.miles_redeemed == 25_000


def test_the_liability_at_any_date_is_read_by_cohort_and_source_and_adds_up_to_the_balances_then(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine
) -> None:
    miles = two_months(client, container, clock)
    at(clock, date(2026, 12, 2))
    october_end = client.get("/v1/finance/liability", params={"date": "2026-10-31"})
    assert october_end.status_code == 200, october_end.text
    body = october_end.json()
    assert body["miles_outstanding"] == miles["ada_october"] + miles["bob_october"]
    assert body["cohorts"] == [
        {
            "earn_month": "2026-10",
            "total": body["miles_outstanding"],
            "by_source": {**dict.fromkeys(body["by_source"], 0), "flights": body["miles_outstanding"]},
        }
    ]
    now = client.get("/v1/finance/liability").json()
    assert now["date"] == "2026-12-02"
    assert now["miles_outstanding"] == member_balances(engine)
    assert sum(c["total"] for c in now["cohorts"]) - now["debts"] == now["miles_outstanding"]
    future = client.get("/v1/finance/liability", params={"date": "2026-12-03"})
    assert (future.status_code, future.json()["error"]["code"]) == (422, "future_date")


def test_a_month_at_the_calendars_edge_is_refused_with_a_422_not_a_500(client: TestClient) -> None:
    """0001-01 has no month before it (the opening is measured as of then): a clear 422 naming the month."""
    answer = client.get("/v1/finance/periods/0001-01")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "month"
    liability = client.get("/v1/finance/liability", params={"date": "0001-01-01"})
    assert liability.status_code in (200, 422), liability.text


def test_a_flight_leaving_on_the_next_months_first_day_at_its_airport_does_not_block_the_close(
    client: TestClient, container: Container, clock: FixedClock, engine: Engine
) -> None:
    """30 November 20:00 UTC is already 1 December in Auckland: a coupon departing AKL on 1 December earns
    then (its lot is of the December cohort, posted in November). November still closes, adding up to the
    balances; the liability at the end of 30 November is read too."""
    clock.at = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    ada = enrol(client)
    early = client.post(
        "/v1/accruals/flights",
        json=coupon(ada, origin="AKL", destination="SYD", departure_date="2026-12-01"),
    )
    assert early.status_code == 201, early.text
    at(clock, date(2026, 12, 2))
    november = close_month(container, NOVEMBER, "test:finance").measured.record
    assert november.issued_total == early.json()["award_miles"] == november.miles_outstanding
    assert november.miles_outstanding == member_balances(engine)
    liability = client.get("/v1/finance/liability", params={"date": "2026-11-30"})
    assert liability.status_code == 200, liability.text
    assert liability.json()["miles_outstanding"] == early.json()["award_miles"]


def test_a_close_waiting_for_another_reads_what_the_other_stored(
    client: TestClient,
    container: Container,
    clock: FixedClock,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """October and November closed at once, with nothing closed before: November waits for October and opens
    where October closed (its snapshot is taken after the wait, not before it)."""
    import threading

    from miles.adapters.db.finance.periods import PeriodRepository

    at(clock, date(2026, 10, 5))
    accrue(client, enrol(client), date(2026, 10, 1))
    at(clock, date(2026, 12, 2))
    stored, go = threading.Event(), threading.Event()
    add = PeriodRepository.add

    def slow_add(self: PeriodRepository, period: Any, lines: Any, cohorts: Any) -> None:
        add(self, period, lines, cohorts)
        if period.month == OCTOBER:  # October stored, not committed yet: November's close comes in now
            stored.set()
            assert go.wait(10)

    monkeypatch.setattr(PeriodRepository, "add", slow_add)
    closings: dict[str, Closing] = {}
    october = threading.Thread(target=lambda: closings.update(oct=close_month(container, OCTOBER, "a")))
    november = threading.Thread(target=lambda: closings.update(nov=close_month(container, NOVEMBER, "b")))
    october.start()
    assert stored.wait(10)
    november.start()
    for _ in range(200):  # November's close waits for October's
        with engine.connect() as c:
            waiting = c.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        if waiting:
            break
        threading.Event().wait(0.05)
    assert waiting
    go.set()
    october.join(10)
    november.join(10)
    nov = closings["nov"].measured.record
    assert nov.opening_computed is False
    assert nov.deferred_opening == closings["oct"].measured.record.deferred_closing
