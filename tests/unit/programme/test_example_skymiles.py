"""SkyMiles (src/miles/programme/examples/skymiles.yaml): coupons worked out by hand from the rules of
issue 13. DL miles per USD by tier with at most 75,000 per ticket across its coupons, AF miles by class
%, MQD = the DL fare in USD (cents kept), the calendar year valid to 31 January of Y+2, no soft
landing, miles that never expire."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from miles.domain.distance import distance_miles
from miles.domain.programme.earning import FlightEarning, MemberStanding, earn, standing_after_credits
from miles.domain.programme.model import ExpiryKind, Programme
from miles.domain.programme.requalification import Standing, TierReason, nightly_standing
from miles.programme.reading import read_file
from tests.unit.programme.flights import EXAMPLES
from tests.unit.programme.flights import coupon as flight

FILE = EXAMPLES / "skymiles.yaml"
FLOWN = date(2026, 5, 1)
TODAY = date(2026, 5, 3)  # the day coupons are posted
YEAR_2026 = date(2026, 1, 1)


@pytest.fixture(scope="module")
def sky() -> Programme:
    return read_file(FILE).in_force(TODAY)


def standing(
    sky: Programme,
    tier: str = "MEMBER",
    mqd: str = "0",
    valid_until: date | None = None,
    ticket_award_miles: int = 0,
    flown: date = FLOWN,
) -> MemberStanding:
    return MemberStanding(
        tier=tier,
        tier_valid_until=valid_until,
        lifetime_tier="MEMBER",
        lifetime_total=Decimal(0),
        period=sky.qualification.fixed_period(flown),
        totals={"mqd": Decimal(mqd)},
        ticket_award_miles=ticket_award_miles,
    )


def fly(
    sky: Programme,
    carrier: str,
    route: str,
    booking_class: str,
    member: MemberStanding,
    fare: str | None = None,
    currency: str = "USD",
    flown: date = FLOWN,
    today: date = TODAY,
) -> FlightEarning:
    coupon = flight(carrier, route, booking_class, flown, "0062345678901", fare, currency)
    return earn(sky, sky.carriers[carrier], coupon, member, today)


@pytest.mark.parametrize(
    ("tier", "miles"),
    [("MEMBER", 5000), ("SILVER", 7000), ("GOLD", 8000), ("PLATINUM", 9000), ("DIAMOND", 11000)],
)
def test_dl_earns_miles_per_usd_by_tier(sky: Programme, tier: str, miles: int) -> None:
    # USD 1,000.00 x 5 / 7 / 8 / 9 / 11
    earned = fly(sky, "DL", "ATL-JFK", "Y", standing(sky, tier), fare="1000.00")
    assert (earned.base_miles, earned.tier_bonus_miles, earned.award_miles) == (miles, 0, miles)


def test_mqd_is_the_dl_fare_in_usd_with_its_cents(sky: Programme) -> None:
    earned = fly(sky, "DL", "ATL-JFK", "T", standing(sky), fare="123.45")
    assert earned.credits == {"mqd": Decimal("123.45")}
    assert earned.award_miles == 617  # 123.45 x 5 = 617.25


def test_a_fare_in_another_currency_is_converted_to_usd(sky: Programme) -> None:
    # EUR 1,000 x 1.08 = USD 1,080.00: 1,080.00 MQD; x 7 (Silver) = 7,560 miles
    earned = fly(sky, "DL", "CDG-ATL", "Y", standing(sky, "SILVER"), fare="1000", currency="EUR")
    assert (earned.fare_value, earned.credits["mqd"], earned.award_miles) == (
        Decimal("1080.00"),
        Decimal("1080.00"),
        7560,
    )
    # JPY 33,333 x 0.0067 = 223.3311 -> USD 223.33; x 9 (Platinum) = 2,009.97 -> 2,009
    earned = fly(sky, "DL", "ATL-HND", "Y", standing(sky, "PLATINUM"), fare="33333", currency="JPY")
    assert (earned.credits["mqd"], earned.award_miles) == (Decimal("223.33"), 2009)


def test_one_coupon_earns_at_most_75000_miles(sky: Programme) -> None:
    # USD 7,000 x 11 = 77,000 -> 75,000; the MQDs are not capped
    earned = fly(sky, "DL", "ATL-HND", "J", standing(sky, "DIAMOND"), fare="7000")
    assert (earned.award_miles, earned.credits["mqd"]) == (75000, Decimal(7000))


def test_the_cap_holds_across_the_coupons_of_one_ticket(sky: Programme) -> None:
    # coupon 1: USD 5,000 x 11 = 55,000 (the ticket had earned nothing)
    first = fly(sky, "DL", "ATL-JFK", "J", standing(sky, "DIAMOND"), fare="5000")
    assert first.award_miles == 55000
    # coupon 2: USD 3,000 x 11 = 33,000, but 75,000 - 55,000 = 20,000 are left on the ticket
    second = fly(sky, "DL", "JFK-ATL", "J", standing(sky, "DIAMOND", ticket_award_miles=55000), fare="3000")
    assert (second.base_miles, second.award_miles, second.credits["mqd"]) == (20000, 20000, 3000)
    # coupon 3: nothing left on the ticket; its MQDs still count
    third = fly(sky, "DL", "ATL-MSP", "J", standing(sky, "DIAMOND", ticket_award_miles=75000), fare="100")
    assert (third.award_miles, third.credits["mqd"]) == (0, 100)


def test_the_cap_counts_only_the_tickets_own_coupons(sky: Programme) -> None:
    # a member's other tickets are not counted: a fresh ticket earns USD 6,000 x 11 = 66,000 in full
    assert fly(sky, "DL", "ATL-JFK", "J", standing(sky, "DIAMOND"), fare="6000").award_miles == 66000


@pytest.mark.parametrize(
    ("booking_class", "miles"),
    [
        ("J", 5452),  # CDG-JFK 3,635 mi x 150 % = 5,452.5 -> 5,452
        ("W", 4543),  # x 125 % = 4,543.75 -> 4,543
        ("M", 3635),  # x 100 %
        ("L", 1817),  # x 50 % = 1,817.5 -> 1,817
        ("V", 908),  # x 25 % = 908.75 -> 908
    ],
)
def test_af_earns_the_class_percent_of_distance_with_no_tier_bonus_and_no_mqd(
    sky: Programme, booking_class: str, miles: int
) -> None:
    assert distance_miles("CDG", "JFK") == 3635
    for tier in ("MEMBER", "DIAMOND"):
        earned = fly(sky, "AF", "CDG-JFK", booking_class, standing(sky, tier), fare="2500")
        assert (earned.base_miles, earned.tier_bonus_miles) == (miles, 0)
        assert earned.credits == {"mqd": 0}  # a partner coupon credits no MQD, fare or not


def test_af_miles_are_not_capped_per_ticket(sky: Programme) -> None:
    assert sky.carriers["AF"].cap_per_ticket is None
    member = standing(sky, "DIAMOND", ticket_award_miles=75000)
    assert fly(sky, "AF", "CDG-JFK", "J", member).award_miles == 5452


@pytest.mark.parametrize(
    ("mqd", "tier"),
    [
        ("4999.99", "MEMBER"),
        ("5000", "SILVER"),
        ("9999.99", "SILVER"),
        ("10000", "GOLD"),
        ("15000", "PLATINUM"),
        ("27999.99", "PLATINUM"),
        ("28000", "DIAMOND"),
    ],
)
def test_thresholds(sky: Programme, mqd: str, tier: str) -> None:
    assert sky.ladder.earned({"mqd": Decimal(mqd)}).code == tier


def test_the_coupon_reaching_silver_gives_it_at_once_to_31_january_two_years_on(sky: Programme) -> None:
    member = standing(sky, "MEMBER", mqd="4900")
    # 4,900 + 150.00 = 5,050.00 >= 5,000: Silver, earned in 2026, valid to 2028-01-31
    earned = fly(sky, "DL", "ATL-JFK", "Y", member, fare="150")
    assert (earned.tier_after, earned.tier_valid_until_after) == ("SILVER", date(2028, 1, 31))
    assert earned.period_restarts_date is None  # a calendar year never restarts
    after = standing_after_credits(sky, member, earned.credits, TODAY)
    assert after.totals == {"mqd": Decimal("5050.00")}  # the counter keeps going
    assert after.period.start == YEAR_2026


def test_a_december_coupon_posted_in_january_credits_the_year_flown(sky: Programme) -> None:
    flown, posted = date(2026, 12, 30), date(2027, 1, 5)
    member = standing(sky, "SILVER", mqd="9800", valid_until=date(2028, 1, 31), flown=flown)
    # 9,800 + 200 = 10,000 in 2026: Gold, valid as a 2026 tier: 2028-01-31
    earned = fly(sky, "DL", "ATL-JFK", "Y", member, fare="200", flown=flown, today=posted)
    assert earned.period.start == YEAR_2026
    assert (earned.tier_after, earned.tier_valid_until_after) == ("GOLD", date(2028, 1, 31))


def night(
    sky: Programme, run: date, tier: str, valid_until: date | None, totals: dict[date, str]
) -> tuple[str, date | None, TierReason | None, bool]:
    held = Standing(tier, valid_until, "MEMBER", Decimal(0))
    by_year = {start: {"mqd": Decimal(mqd)} for start, mqd in totals.items()}
    out = nightly_standing(sky, run, held, by_year)
    return out.tier, out.valid_until, out.reason, out.requalified


def test_on_31_january_the_tier_still_holds(sky: Programme) -> None:
    # Platinum earned in 2025 is valid to 2027-01-31 inclusive
    assert night(sky, date(2027, 1, 31), "PLATINUM", date(2027, 1, 31), {}) == (
        "PLATINUM",
        date(2027, 1, 31),
        None,
        False,
    )


@pytest.mark.parametrize(
    ("held", "mqd_2026", "after", "valid"),
    [
        ("PLATINUM", "6000", "SILVER", date(2028, 1, 31)),  # down two tiers at once
        ("DIAMOND", "15000", "PLATINUM", date(2028, 1, 31)),
        ("DIAMOND", "0", "MEMBER", None),  # straight to the base tier, no validity
        ("GOLD", "12000", "GOLD", date(2028, 1, 31)),  # kept
        ("SILVER", "30000", "DIAMOND", date(2028, 1, 31)),  # up (the feed had missed it)
    ],
)
def test_on_1_february_the_tier_becomes_the_one_earned_last_year_without_soft_landing(
    sky: Programme, held: str, mqd_2026: str, after: str, valid: date | None
) -> None:
    tier, valid_until, reason, requalified = night(
        sky, date(2027, 2, 1), held, date(2027, 1, 31), {YEAR_2026: mqd_2026}
    )
    assert (tier, valid_until, reason, requalified) == (after, valid, TierReason.REQUALIFIED, True)


def test_the_night_extends_a_tier_earned_again_this_year(sky: Programme) -> None:
    # Gold of 2025 (to 2027-01-31); 10,500 MQD by August 2026: Gold of 2026, valid to 2028-01-31
    assert night(sky, date(2026, 8, 1), "GOLD", date(2027, 1, 31), {YEAR_2026: "10500"}) == (
        "GOLD",
        date(2028, 1, 31),
        TierReason.UPGRADE,
        False,
    )


def test_miles_never_expire(sky: Programme) -> None:
    assert (sky.expiry.kind, sky.expiry.months) == (ExpiryKind.NEVER, 0)
    assert fly(sky, "DL", "ATL-JFK", "Y", standing(sky), fare="100").lot_expires_date is None


def test_the_programme_is_in_usd_with_a_calendar_year_and_no_lifetime_tiers(sky: Programme) -> None:
    rules = sky.qualification
    assert sky.currency == "USD"
    assert sky.rates["EUR"] == Decimal("1.08")
    assert (rules.period.value, rules.valid_month, rules.valid_years_after) == ("calendar_year", 1, 2)
    assert rules.soft_landing == 0
    assert rules.lifetime == ()


def test_awards_sell_four_cabins_by_band_with_no_hotel_and_no_bags(sky: Programme) -> None:
    assert sky.awards.cabins == ("economy", "premium_economy", "business", "first")
    assert sky.awards.hotel_night_by_category is None
    assert not sky.awards.bags
