"""Earn lots: expiry dates and the order debits draw from them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from miles.domain.accrual import earn_for_flight
from miles.domain.calendar import add_months, end_of_month_after
from miles.domain.lots import LotBalance, plan_draws


@pytest.mark.parametrize(
    ("departure", "expires"),
    [
        (date(2026, 3, 15), date(2029, 3, 31)),
        (date(2026, 1, 31), date(2029, 1, 31)),
        (date(2026, 2, 1), date(2029, 2, 28)),
        (date(2025, 2, 28), date(2028, 2, 29)),
        (date(2025, 12, 31), date(2028, 12, 31)),
    ],
)
def test_lot_expires_end_of_36th_month_after_departure_month(
    programme, make_coupon, make_standing, departure, expires
) -> None:
    flown_a_week_ago = departure + timedelta(days=7)  # within the accrual window
    earning = earn_for_flight(
        programme, make_coupon(departure_date=departure), make_standing(), flown_a_week_ago
    )
    assert earning.lot_expires_date == expires


def test_end_of_month_after_and_add_months_clamp() -> None:
    assert end_of_month_after(date(2026, 3, 15), 36) == date(2029, 3, 31)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


def lot(id: int, expires: date | None, remaining: int) -> LotBalance:
    return LotBalance(id=id, expires_date=expires, remaining=remaining)


def test_draws_soonest_expiring_first() -> None:
    lots = [lot(1, date(2029, 6, 30), 1000), lot(2, date(2028, 1, 31), 500), lot(3, date(2028, 12, 31), 700)]
    draws, shortfall = plan_draws(lots, 1000)
    assert draws == [(2, 500), (3, 500)]
    assert shortfall == 0


def test_never_expiring_lots_are_drawn_last() -> None:
    lots = [lot(1, None, 5000), lot(2, date(2030, 1, 31), 100)]
    draws, shortfall = plan_draws(lots, 300)
    assert draws == [(2, 100), (1, 200)]
    assert shortfall == 0


def test_first_lot_id_is_drawn_before_sooner_lots() -> None:
    lots = [lot(1, date(2027, 1, 31), 500), lot(2, date(2029, 1, 31), 400), lot(3, None, 1000)]
    draws, shortfall = plan_draws(lots, 600, first_lot_id=2)
    assert draws == [(2, 400), (1, 200)]
    assert shortfall == 0


def test_shortfall_is_what_no_lot_covers() -> None:
    lots = [lot(1, date(2028, 1, 31), 300), lot(2, None, 200)]
    draws, shortfall = plan_draws(lots, 800)
    assert draws == [(1, 300), (2, 200)]
    assert shortfall == 300


def test_empty_lots_are_skipped() -> None:
    lots = [lot(1, date(2027, 1, 31), 0), lot(2, date(2028, 1, 31), 50)]
    draws, shortfall = plan_draws(lots, 50)
    assert draws == [(2, 50)]
    assert shortfall == 0


def test_same_expiry_breaks_ties_by_lot_id() -> None:
    lots = [lot(7, date(2028, 1, 31), 100), lot(3, date(2028, 1, 31), 100)]
    draws, _ = plan_draws(lots, 150)
    assert draws == [(3, 100), (7, 50)]


def test_drawing_nothing_draws_no_lots() -> None:
    assert plan_draws([lot(1, None, 100)], 0) == ([], 0)
