"""Expiry dates: lots at the end of the 36th month, inactivity after N months, the warning window."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from miles.domain.expiry import (
    exempt,
    exempt_tier_names,
    inactivity_cutoff,
    inactivity_expires_date,
    lot_expired,
    lot_expires_date,
    lots_expiring_miles,
    warning_window,
)
from miles.domain.programme.model import Programme


def test_a_lot_expires_at_the_end_of_the_36th_month_after_the_month_earned() -> None:
    assert lot_expires_date(date(2026, 3, 15), 36) == date(2029, 3, 31)
    assert lot_expires_date(date(2025, 2, 1), 36) == date(2028, 2, 29)


def test_a_lot_is_good_on_its_last_day_and_expired_the_day_after() -> None:
    assert not lot_expired(date(2029, 3, 31), date(2029, 3, 31))
    assert lot_expired(date(2029, 3, 31), date(2029, 4, 1))
    assert not lot_expired(None, date(2099, 1, 1))


def test_inactive_miles_are_good_for_n_months_after_the_last_activity() -> None:
    assert inactivity_expires_date(date(2026, 3, 15), 24) == date(2028, 3, 15)
    assert inactivity_expires_date(date(2026, 2, 28), 24) == date(2028, 2, 28)
    assert inactivity_expires_date(date(2024, 2, 29), 24) == date(2026, 2, 28)


@given(st.dates(date(2000, 1, 1), date(2090, 12, 31)), st.integers(1, 60))
def test_the_inactivity_cutoff_is_the_first_activity_date_that_keeps_the_miles(
    run_date: date, months: int
) -> None:
    cutoff = inactivity_cutoff(run_date, months)
    assert inactivity_expires_date(cutoff, months) >= run_date
    assert inactivity_expires_date(cutoff - timedelta(days=1), months) < run_date


def test_warnings_go_out_30_days_before_the_miles_are_gone() -> None:
    # a lot good until 2029-03-31 is gone on 2029-04-01: warned by the run of 2029-03-02, not 2029-03-01
    assert warning_window(date(2029, 3, 2), 30) == (date(2029, 3, 2), date(2029, 3, 31))
    first, last = warning_window(date(2029, 3, 1), 30)  # type: ignore[misc]
    assert last == date(2029, 3, 30)
    assert warning_window(date(2029, 3, 1), 0) is None


def test_expired_lots_expire_whole_when_the_lots_hold_exactly_the_balance() -> None:
    assert lots_expiring_miles(due=4_000, in_lots=10_000, balance=10_000, pending=0) == 4_000


def test_a_debt_no_lot_carries_uses_up_the_expired_lots_first() -> None:
    assert lots_expiring_miles(due=10_573, in_lots=21_146, balance=13_646, pending=0) == 3_073
    assert lots_expiring_miles(due=5_000, in_lots=21_146, balance=13_646, pending=0) == 0


def test_expiry_never_takes_more_than_the_available_miles() -> None:
    assert lots_expiring_miles(due=4_000, in_lots=4_000, balance=4_000, pending=3_000) == 1_000
    assert lots_expiring_miles(due=4_000, in_lots=4_000, balance=-500, pending=0) == 0


def test_the_exempt_tiers_are_the_codes_with_the_perk(programme: Programme) -> None:
    assert exempt_tier_names(programme) == ["GOLD", "PLATINUM"]
    assert exempt(programme.expiry, "GOLD")
    assert not exempt(programme.expiry, "SILVER")
