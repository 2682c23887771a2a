"""Tiers: thresholds, upgrades when a coupon crosses one, valid-until dates, lifetime tiers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from miles.domain.accrual import earn_for_flight
from miles.domain.calendar import end_of_month
from miles.domain.programme.earning import standing_after_credits
from miles.domain.programme.model import Programme

JFK_LHR = 3451


@pytest.mark.parametrize(
    ("year", "until"),
    [(2026, date(2028, 2, 29)), (2027, date(2029, 2, 28)), (2098, date(2100, 2, 28))],
)
def test_upgrade_valid_until_last_day_of_february_of_year_plus_2(
    programme: Programme, year: int, until: date
) -> None:
    rules = programme.qualification
    assert rules.valid_until(rules.fixed_period(date(year, 7, 1))) == until


def test_last_day_of_february_handles_leap_years() -> None:
    assert end_of_month(2028, 2) == date(2028, 2, 29)
    assert end_of_month(2000, 2) == date(2000, 2, 29)
    assert end_of_month(2100, 2) == date(2100, 2, 28)


def test_requalified_tier_valid_until_february_of_next_year(programme: Programme) -> None:
    rules = programme.qualification
    assert rules.valid_until(rules.last_complete(date(2027, 3, 1))) == date(2028, 2, 29)


def test_the_tiers_are_codes_in_the_rules_files_order(programme: Programme) -> None:
    ladder = programme.ladder
    assert ladder.codes == ("BLUE", "SILVER", "GOLD", "PLATINUM")
    assert ladder.rank("BLUE") < ladder.rank("SILVER") < ladder.rank("GOLD") < ladder.rank("PLATINUM")
    assert "gold" not in ladder  # codes are the programme's own strings, matched exactly


@pytest.mark.parametrize(
    ("status_miles", "segments", "tier"),
    [
        (0, 0, "BLUE"),
        (24_999, 29, "BLUE"),
        (25_000, 0, "SILVER"),
        (0, 30, "SILVER"),
        (49_999, 59, "SILVER"),
        (50_000, 0, "GOLD"),
        (0, 60, "GOLD"),
        (74_999, 99, "GOLD"),
        (75_000, 0, "PLATINUM"),
        (0, 100, "PLATINUM"),
        (26_000, 61, "GOLD"),
    ],
)
def test_tier_earned_by_either_threshold(programme, status_miles, segments, tier) -> None:
    totals = {"status_miles": Decimal(status_miles), "segments": Decimal(segments)}
    assert programme.ladder.earned(totals).code == tier


@pytest.mark.parametrize(
    ("lifetime_miles", "tier"),
    [(999_999, "BLUE"), (1_000_000, "GOLD"), (1_999_999, "GOLD"), (2_000_000, "PLATINUM")],
)
def test_lifetime_tier_thresholds(programme, lifetime_miles, tier) -> None:
    reached = programme.qualification.lifetime_tier(Decimal(lifetime_miles))
    assert (reached or programme.ladder.base.code) == tier


def test_crossing_silver_on_status_miles_earns_at_blue_then_upgrades(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing("BLUE", totals={"status_miles": 24_000})
    coupon = make_coupon(departure_date=date(2026, 6, 1), booking_class="Y")
    earning = earn_for_flight(programme, coupon, standing, today)
    assert earning.base_miles == JFK_LHR  # no elite minimum, BLUE rates
    assert earning.tier_bonus_miles == 0  # the old tier's (no) bonus
    assert earning.tier_before == "BLUE"
    assert earning.tier_after == "SILVER"
    assert earning.tier_valid_until_after == date(2028, 2, 29)


def test_falling_short_of_silver_stays_blue(programme, make_coupon, make_standing, today) -> None:
    standing = make_standing("BLUE", totals={"status_miles": 25_000 - JFK_LHR - 1})
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_after == "BLUE"
    assert earning.tier_valid_until_after is None


def test_thirtieth_segment_upgrades_to_silver(programme, make_coupon, make_standing, today) -> None:
    standing = make_standing("BLUE", totals={"segments": 29})
    coupon = make_coupon(origin="GSP", destination="ATL")
    earning = earn_for_flight(programme, coupon, standing, today)
    assert earning.credits["segments"] == 1
    assert earning.tier_after == "SILVER"
    assert earning.tier_valid_until_after == date(2028, 2, 29)


def test_zero_earn_class_segment_does_not_count_towards_upgrade(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing("BLUE", totals={"segments": 29})
    earning = earn_for_flight(programme, make_coupon(booking_class="O"), standing, today)
    assert earning.tier_after == "BLUE"


def test_silver_member_crossing_gold_earns_silver_bonus_then_upgrades(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing("SILVER", totals={"status_miles": 49_000})
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_bonus_miles == 862  # SILVER 25%
    assert earning.tier_after == "GOLD"
    assert earning.tier_valid_until_after == date(2028, 2, 29)


def test_requalifying_same_tier_extends_valid_until(programme, make_coupon, make_standing, today) -> None:
    standing = make_standing("SILVER", tier_valid_until=date(2027, 2, 28), totals={"status_miles": 24_000})
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_after == "SILVER"
    assert earning.tier_valid_until_after == date(2028, 2, 29)


def test_lower_tier_earned_never_downgrades(programme, make_coupon, make_standing, today) -> None:
    standing = make_standing("PLATINUM", tier_valid_until=date(2027, 2, 28), totals={"status_miles": 24_000})
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_after == "PLATINUM"
    assert earning.tier_valid_until_after == date(2027, 2, 28)


def test_one_million_lifetime_status_miles_gives_gold_for_life(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing("BLUE", lifetime_total=Decimal(1_000_000 - JFK_LHR))
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_after == "GOLD"
    assert earning.lifetime_tier_after == "GOLD"
    assert earning.tier_valid_until_after is None


def test_two_million_lifetime_status_miles_gives_platinum_for_life(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing(
        "GOLD",
        tier_valid_until=None,
        lifetime_tier="GOLD",
        lifetime_total=Decimal(2_000_000 - JFK_LHR),
    )
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_after == "PLATINUM"
    assert earning.lifetime_tier_after == "PLATINUM"
    assert earning.tier_valid_until_after is None


def test_lifetime_gold_does_not_lower_an_earned_platinum(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing(
        "PLATINUM", tier_valid_until=date(2027, 2, 28), lifetime_total=Decimal(1_000_000 - JFK_LHR)
    )
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.lifetime_tier_after == "GOLD"
    assert earning.tier_after == "PLATINUM"
    assert earning.tier_valid_until_after == date(2027, 2, 28)


def test_standing_after_accumulates_the_earning(programme, make_coupon, make_standing, today) -> None:
    standing = make_standing("BLUE", totals={"status_miles": 24_000, "segments": 5})
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    after = standing_after_credits(programme, standing, earning.credits, today)
    assert after.tier == "SILVER"
    assert after.tier_valid_until == date(2028, 2, 29)
    assert after.totals["status_miles"] == 24_000 + JFK_LHR
    assert after.totals["segments"] == 6
    assert after.lifetime_total == JFK_LHR


def test_next_coupon_after_upgrade_earns_at_the_new_tier(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing("BLUE", totals={"status_miles": 24_000})
    first = earn_for_flight(programme, make_coupon(), standing, today)
    after = standing_after_credits(programme, standing, first.credits, today)
    second = earn_for_flight(programme, make_coupon(coupon_number=2), after, today)
    assert first.tier_bonus_miles == 0
    assert second.tier_before == "SILVER"
    assert second.tier_bonus_miles == 862
