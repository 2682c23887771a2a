"""Earning on partner carrier YY (distance-based): class %, tier bonus, elite minimum."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from miles.domain.accrual import earn_for_flight
from miles.domain.programme.qualification import Period

TIERS = ["BLUE", "SILVER", "GOLD", "PLATINUM"]

JFK_LHR = 3451
GSP_ATL = 153


def test_blue_jfk_lhr_economy_y_earns_the_distance(programme, make_coupon, make_standing, today) -> None:
    earning = earn_for_flight(programme, make_coupon(booking_class="Y"), make_standing(), today)
    assert earning.distance_miles == JFK_LHR
    assert earning.base_miles == JFK_LHR
    assert earning.tier_bonus_miles == 0
    assert earning.promotion_miles == 0
    assert earning.award_miles == JFK_LHR
    assert earning.credits["status_miles"] == JFK_LHR
    assert earning.credits["segments"] == 1
    assert earning.tier_before == "BLUE"
    assert earning.tier_after == "BLUE"


def test_blue_business_j_earns_125_percent_floored(programme, make_coupon, make_standing, today) -> None:
    earning = earn_for_flight(programme, make_coupon(booking_class="J"), make_standing(), today)
    assert earning.base_miles == 4313  # floor(3451 * 1.25) = floor(4313.75)
    assert earning.credits["status_miles"] == 4313
    assert earning.award_miles == 4313
    assert earning.credits["segments"] == 1


def test_blue_discount_v_earns_25_percent_floored(programme, make_coupon, make_standing, today) -> None:
    earning = earn_for_flight(programme, make_coupon(booking_class="V"), make_standing(), today)
    assert earning.base_miles == 862  # floor(3451 * 0.25) = floor(862.75)
    assert earning.credits["status_miles"] == 862
    assert earning.credits["segments"] == 1


def test_first_f_earns_150_percent(programme, make_coupon, make_standing, today) -> None:
    earning = earn_for_flight(programme, make_coupon(booking_class="F"), make_standing(), today)
    assert earning.base_miles == 5176  # floor(3451 * 1.5) = floor(5176.5)
    assert earning.credits["status_miles"] == 5176


@pytest.mark.parametrize("tier", TIERS)
def test_class_o_earns_nothing_at_any_tier(programme, make_coupon, make_standing, today, tier) -> None:
    earning = earn_for_flight(programme, make_coupon(booking_class="O"), make_standing(tier), today)
    assert earning.base_miles == 0
    assert earning.tier_bonus_miles == 0
    assert earning.award_miles == 0
    assert earning.credits["status_miles"] == 0
    assert earning.credits["segments"] == 0


def test_silver_short_hop_gets_elite_minimum_then_25_percent_bonus(
    programme, make_coupon, make_standing, today
) -> None:
    coupon = make_coupon(origin="GSP", destination="ATL", booking_class="Y")
    earning = earn_for_flight(programme, coupon, make_standing("SILVER"), today)
    assert earning.distance_miles == GSP_ATL
    assert earning.base_miles == 500
    assert earning.tier_bonus_miles == 125
    assert earning.award_miles == 625
    assert earning.credits["status_miles"] == GSP_ATL  # the minimum is award miles only


def test_blue_short_hop_gets_no_elite_minimum(programme, make_coupon, make_standing, today) -> None:
    coupon = make_coupon(origin="GSP", destination="ATL", booking_class="Y")
    earning = earn_for_flight(programme, coupon, make_standing("BLUE"), today)
    assert earning.base_miles == GSP_ATL
    assert earning.award_miles == GSP_ATL


def test_elite_minimum_applies_to_discount_class_too(programme, make_coupon, make_standing, today) -> None:
    coupon = make_coupon(origin="GSP", destination="ATL", booking_class="V")
    earning = earn_for_flight(programme, coupon, make_standing("GOLD"), today)
    assert earning.base_miles == 500
    assert earning.tier_bonus_miles == 250
    assert earning.credits["status_miles"] == 38  # floor(153 * 0.25)


def test_elite_minimum_does_not_apply_to_class_that_earns_nothing(
    programme, make_coupon, make_standing, today
) -> None:
    coupon = make_coupon(origin="GSP", destination="ATL", booking_class="G")
    earning = earn_for_flight(programme, coupon, make_standing("PLATINUM"), today)
    assert earning.base_miles == 0
    assert earning.award_miles == 0


@pytest.mark.parametrize(
    ("tier", "bonus"),
    [("BLUE", 0), ("SILVER", 862), ("GOLD", 1725), ("PLATINUM", 3451)],
)
def test_tier_bonus_is_floor_of_base_times_bonus_percent(
    programme, make_coupon, make_standing, today, tier, bonus
) -> None:
    earning = earn_for_flight(programme, make_coupon(booking_class="Y"), make_standing(tier), today)
    assert earning.base_miles == JFK_LHR
    assert earning.tier_bonus_miles == bonus
    assert earning.award_miles == JFK_LHR + bonus
    assert earning.credits["status_miles"] == JFK_LHR  # the bonus earns no status


def test_distance_carrier_records_no_spend(programme, make_coupon, make_standing, today) -> None:
    earning = earn_for_flight(programme, make_coupon(), make_standing(), today)
    assert earning.credits["spend"] == 0


def test_fare_on_distance_carrier_does_not_change_earning(
    programme, make_coupon, make_standing, today
) -> None:
    coupon = make_coupon(fare_amount=Decimal("9999.00"), fare_currency="USD")
    earning = earn_for_flight(programme, coupon, make_standing(), today)
    assert earning.base_miles == JFK_LHR
    assert earning.credits["spend"] == 0


def test_qualification_year_and_earned_date_follow_departure(
    programme, make_coupon, make_standing, today
) -> None:
    coupon = make_coupon(departure_date=date(2025, 12, 31))
    standing = make_standing(departure=coupon.departure_date)
    earning = earn_for_flight(programme, coupon, standing, date(2026, 1, 10))
    assert earning.period == Period(date(2025, 1, 1), date(2025, 12, 31))
    assert earning.earned_date == date(2025, 12, 31)
