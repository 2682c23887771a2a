"""Earning on the own carrier ZZ (revenue-based award miles, distance-based status)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from miles.domain.accrual import earn_for_flight
from miles.domain.errors import InvalidInput

JFK_LHR = 3451


def zz(make_coupon, amount: str = "100.00", currency: str = "USD", **changes):
    return make_coupon(
        marketing_carrier="ZZ",
        operating_carrier="ZZ",
        fare_amount=Decimal(amount),
        fare_currency=currency,
        **changes,
    )


@pytest.mark.parametrize(
    ("tier", "base"),
    [("BLUE", 500), ("SILVER", 700), ("GOLD", 800), ("PLATINUM", 1100)],
)
def test_revenue_rate_per_usd_by_tier(programme, make_coupon, make_standing, today, tier, base) -> None:
    earning = earn_for_flight(programme, zz(make_coupon, "100.00", "USD"), make_standing(tier), today)
    assert earning.base_miles == base
    assert earning.award_miles == base


def test_eur_fare_converted_at_1_08_before_the_rate(programme, make_coupon, make_standing, today) -> None:
    earning = earn_for_flight(programme, zz(make_coupon, "100.00", "EUR"), make_standing(), today)
    assert earning.credits["spend"] == Decimal("108.00")
    assert earning.base_miles == 540


def test_revenue_miles_are_floored(programme, make_coupon, make_standing, today) -> None:
    # GBP 10.01 x 1.27 = USD 12.7127 -> 12.71; x 11 = 139.81 -> 139
    coupon = zz(make_coupon, "10.01", "GBP")
    earning = earn_for_flight(programme, coupon, make_standing("PLATINUM"), today)
    assert earning.credits["spend"] == Decimal("12.71")
    assert earning.base_miles == 139


def test_jpy_fare_converted_to_usd_cents(programme, make_coupon, make_standing, today) -> None:
    # JPY 12,345 x 0.0067 = 82.7115 -> USD 82.71; BLUE 5/USD -> 413.55 -> 413
    earning = earn_for_flight(programme, zz(make_coupon, "12345", "JPY"), make_standing(), today)
    assert earning.credits["spend"] == Decimal("82.71")
    assert earning.base_miles == 413


def test_spend_is_the_fare_converted_to_the_accounting_currency(
    programme, make_coupon, make_standing, today
) -> None:
    earning = earn_for_flight(programme, zz(make_coupon, "512.40", "CHF"), make_standing(), today)
    assert earning.credits["spend"] == Decimal("573.89")  # 512.40 x 1.12 = 573.888 -> 573.89
    assert earning.credits["spend"].as_tuple().exponent == -2
    assert earning.fare_value == earning.credits["spend"]


@pytest.mark.parametrize(("booking_class", "status"), [("Y", 3451), ("J", 4313), ("V", 862)])
def test_status_miles_come_from_the_class_table_by_distance(
    programme, make_coupon, make_standing, today, booking_class, status
) -> None:
    coupon = zz(make_coupon, "100.00", "USD", booking_class=booking_class)
    earning = earn_for_flight(programme, coupon, make_standing(), today)
    assert earning.distance_miles == JFK_LHR
    assert earning.credits["status_miles"] == status
    assert earning.credits["segments"] == 1
    assert earning.base_miles == 500  # the class does not change revenue miles


@pytest.mark.parametrize("tier", ["SILVER", "GOLD", "PLATINUM"])
def test_no_tier_bonus_on_revenue_carrier(programme, make_coupon, make_standing, today, tier) -> None:
    earning = earn_for_flight(programme, zz(make_coupon, "100.00", "USD"), make_standing(tier), today)
    assert earning.tier_bonus_miles == 0
    assert earning.award_miles == earning.base_miles


def test_no_elite_minimum_on_revenue_carrier(programme, make_coupon, make_standing, today) -> None:
    coupon = zz(make_coupon, "10.00", "USD", origin="GSP", destination="ATL")
    earning = earn_for_flight(programme, coupon, make_standing("SILVER"), today)
    assert earning.base_miles == 70
    assert earning.award_miles == 70


def test_class_o_on_revenue_carrier_earns_no_miles(programme, make_coupon, make_standing, today) -> None:
    coupon = zz(make_coupon, "100.00", "USD", booking_class="O")
    earning = earn_for_flight(programme, coupon, make_standing(), today)
    assert earning.base_miles == 0
    assert earning.award_miles == 0
    assert earning.credits["status_miles"] == 0
    assert earning.credits["segments"] == 0


def test_zero_fare_earns_zero_award_miles_but_status(programme, make_coupon, make_standing, today) -> None:
    earning = earn_for_flight(programme, zz(make_coupon, "0", "USD"), make_standing(), today)
    assert earning.base_miles == 0
    assert earning.credits["status_miles"] == JFK_LHR


def test_revenue_coupon_without_fare_is_rejected_on_field_fare(
    programme, make_coupon, make_standing, today
) -> None:
    coupon = make_coupon(marketing_carrier="ZZ", operating_carrier="ZZ")
    with pytest.raises(InvalidInput) as caught:
        earn_for_flight(programme, coupon, make_standing(), today)
    assert caught.value.field == "fare"
    assert caught.value.code == "fare_required"
