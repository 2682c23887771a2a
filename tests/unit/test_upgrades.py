"""Tiers: thresholds, upgrades when a coupon crosses one, valid-until dates, lifetime tiers."""

from __future__ import annotations

from datetime import date

import pytest

from miles.domain.accrual import earn_for_flight, standing_after
from miles.domain.tiers import Tier, last_day_of_february, requalified_valid_until, upgrade_valid_until

JFK_LHR = 3451


@pytest.mark.parametrize(
    ("year", "until"),
    [(2026, date(2028, 2, 29)), (2027, date(2029, 2, 28)), (2098, date(2100, 2, 28))],
)
def test_upgrade_valid_until_last_day_of_february_of_year_plus_2(year: int, until: date) -> None:
    assert upgrade_valid_until(year) == until


def test_last_day_of_february_handles_leap_years() -> None:
    assert last_day_of_february(2028) == date(2028, 2, 29)
    assert last_day_of_february(2000) == date(2000, 2, 29)
    assert last_day_of_february(2100) == date(2100, 2, 28)


def test_requalified_tier_valid_until_february_of_next_year() -> None:
    assert requalified_valid_until(date(2027, 3, 1)) == date(2028, 2, 29)


def test_tier_parse_is_case_insensitive() -> None:
    assert Tier.parse("gold") is Tier.GOLD
    assert Tier.BLUE < Tier.SILVER < Tier.GOLD < Tier.PLATINUM


@pytest.mark.parametrize(
    ("status_miles", "segments", "tier"),
    [
        (0, 0, Tier.BLUE),
        (24_999, 29, Tier.BLUE),
        (25_000, 0, Tier.SILVER),
        (0, 30, Tier.SILVER),
        (49_999, 59, Tier.SILVER),
        (50_000, 0, Tier.GOLD),
        (0, 60, Tier.GOLD),
        (74_999, 99, Tier.GOLD),
        (75_000, 0, Tier.PLATINUM),
        (0, 100, Tier.PLATINUM),
        (26_000, 61, Tier.GOLD),
    ],
)
def test_tier_earned_by_either_threshold(programme, status_miles, segments, tier) -> None:
    assert programme.tier_earned(status_miles, segments) is tier


@pytest.mark.parametrize(
    ("lifetime_miles", "tier"),
    [(999_999, Tier.BLUE), (1_000_000, Tier.GOLD), (1_999_999, Tier.GOLD), (2_000_000, Tier.PLATINUM)],
)
def test_lifetime_tier_thresholds(programme, lifetime_miles, tier) -> None:
    assert programme.lifetime_tier(lifetime_miles) is tier


def test_crossing_silver_on_status_miles_earns_at_blue_then_upgrades(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing(Tier.BLUE, qualifying_status_miles=24_000)
    coupon = make_coupon(departure_date=date(2026, 6, 1), booking_class="Y")
    earning = earn_for_flight(programme, coupon, standing, today)
    assert earning.base_miles == JFK_LHR  # no elite minimum, BLUE rates
    assert earning.tier_bonus_miles == 0  # the old tier's (no) bonus
    assert earning.tier_before is Tier.BLUE
    assert earning.tier_after is Tier.SILVER
    assert earning.tier_valid_until_after == date(2028, 2, 29)


def test_falling_short_of_silver_stays_blue(programme, make_coupon, make_standing, today) -> None:
    standing = make_standing(Tier.BLUE, qualifying_status_miles=25_000 - JFK_LHR - 1)
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_after is Tier.BLUE
    assert earning.tier_valid_until_after is None


def test_thirtieth_segment_upgrades_to_silver(programme, make_coupon, make_standing, today) -> None:
    standing = make_standing(Tier.BLUE, qualifying_segments=29)
    coupon = make_coupon(origin="GSP", destination="ATL")
    earning = earn_for_flight(programme, coupon, standing, today)
    assert earning.segments == 1
    assert earning.tier_after is Tier.SILVER
    assert earning.tier_valid_until_after == date(2028, 2, 29)


def test_zero_earn_class_segment_does_not_count_towards_upgrade(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing(Tier.BLUE, qualifying_segments=29)
    earning = earn_for_flight(programme, make_coupon(booking_class="O"), standing, today)
    assert earning.tier_after is Tier.BLUE


def test_silver_member_crossing_gold_earns_silver_bonus_then_upgrades(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing(Tier.SILVER, qualifying_status_miles=49_000)
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_bonus_miles == 862  # SILVER 25%
    assert earning.tier_after is Tier.GOLD
    assert earning.tier_valid_until_after == date(2028, 2, 29)


def test_requalifying_same_tier_extends_valid_until(programme, make_coupon, make_standing, today) -> None:
    standing = make_standing(Tier.SILVER, tier_valid_until=date(2027, 2, 28), qualifying_status_miles=24_000)
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_after is Tier.SILVER
    assert earning.tier_valid_until_after == date(2028, 2, 29)


def test_lower_tier_earned_never_downgrades(programme, make_coupon, make_standing, today) -> None:
    standing = make_standing(
        Tier.PLATINUM, tier_valid_until=date(2027, 2, 28), qualifying_status_miles=24_000
    )
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_after is Tier.PLATINUM
    assert earning.tier_valid_until_after == date(2027, 2, 28)


def test_one_million_lifetime_status_miles_gives_gold_for_life(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing(Tier.BLUE, lifetime_status_miles=1_000_000 - JFK_LHR)
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_after is Tier.GOLD
    assert earning.lifetime_tier_after is Tier.GOLD
    assert earning.tier_valid_until_after is None


def test_two_million_lifetime_status_miles_gives_platinum_for_life(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing(
        Tier.GOLD,
        tier_valid_until=None,
        lifetime_tier=Tier.GOLD,
        lifetime_status_miles=2_000_000 - JFK_LHR,
    )
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.tier_after is Tier.PLATINUM
    assert earning.lifetime_tier_after is Tier.PLATINUM
    assert earning.tier_valid_until_after is None


def test_lifetime_gold_does_not_lower_an_earned_platinum(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing(
        Tier.PLATINUM, tier_valid_until=date(2027, 2, 28), lifetime_status_miles=1_000_000 - JFK_LHR
    )
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    assert earning.lifetime_tier_after is Tier.GOLD
    assert earning.tier_after is Tier.PLATINUM
    assert earning.tier_valid_until_after == date(2027, 2, 28)


def test_standing_after_accumulates_the_earning(programme, make_coupon, make_standing, today) -> None:
    standing = make_standing(Tier.BLUE, qualifying_status_miles=24_000, qualifying_segments=5)
    earning = earn_for_flight(programme, make_coupon(), standing, today)
    after = standing_after(standing, earning)
    assert after.tier is Tier.SILVER
    assert after.tier_valid_until == date(2028, 2, 29)
    assert after.qualifying_status_miles == 24_000 + JFK_LHR
    assert after.qualifying_segments == 6
    assert after.lifetime_status_miles == JFK_LHR


def test_next_coupon_after_upgrade_earns_at_the_new_tier(
    programme, make_coupon, make_standing, today
) -> None:
    standing = make_standing(Tier.BLUE, qualifying_status_miles=24_000)
    first = earn_for_flight(programme, make_coupon(), standing, today)
    second = earn_for_flight(programme, make_coupon(coupon_number=2), standing_after(standing, first), today)
    assert first.tier_bonus_miles == 0
    assert second.tier_before is Tier.SILVER
    assert second.tier_bonus_miles == 862
