"""Mileage Plan partner earning (src/miles/programme/examples/alaska-partners.yaml): coupons worked out by
hand from the rules of issue 13. Credited distance = max(flown, 500) for every member; award miles =
floor(credited x base %) + floor(credited x class bonus %) + floor(credited x elite bonus %); EQM = the
first two; 1 segment per coupon; tiers by EQM OR segments over the calendar year, valid to 31 December
of Y+1, no soft landing, miles that never expire."""

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

FILE = EXAMPLES / "alaska-partners.yaml"
FLOWN = date(2026, 3, 1)
TODAY = date(2026, 3, 2)  # the day coupons are posted
YEAR_2026 = date(2026, 1, 1)


@pytest.fixture(scope="module")
def mp() -> Programme:
    return read_file(FILE).in_force(TODAY)


def standing(
    mp: Programme, tier: str = "MEMBER", eqm: int = 0, segments: int = 0, valid_until: date | None = None
) -> MemberStanding:
    return MemberStanding(
        tier=tier,
        tier_valid_until=valid_until,
        lifetime_tier="MEMBER",
        lifetime_total=Decimal(0),
        period=mp.qualification.fixed_period(FLOWN),
        totals={"eqm": Decimal(eqm), "segments": Decimal(segments)},
    )


def fly(mp: Programme, carrier: str, route: str, booking_class: str, member: MemberStanding) -> FlightEarning:
    coupon = flight(carrier, route, booking_class, FLOWN, "1252345678901")
    return earn(mp, mp.carriers[carrier], coupon, member, TODAY)


def test_the_routes_used_below_have_these_distances() -> None:
    assert distance_miles("LHR", "MAN") == 151
    assert distance_miles("LHR", "EDI") == 332
    assert distance_miles("JFK", "BOS") == 187
    assert distance_miles("DFW", "ORD") == 802
    assert distance_miles("JFK", "LHR") == 3451
    assert distance_miles("DFW", "LHR") == 4750


@pytest.mark.parametrize(
    ("carrier", "route", "booking_class", "miles", "eqm"),
    [
        ("BA", "LHR-MAN", "Y", 500, 500),  # 151 mi -> 500 credited; x 100 %
        ("BA", "LHR-EDI", "L", 125, 125),  # 332 mi -> 500; x 25 %
        ("AA", "JFK-BOS", "F", 750, 750),  # 187 mi -> 500; x 100 % + 500 x 50 % = 500 + 250
    ],
)
def test_a_short_flight_credits_500_miles_for_the_base_tier_too(
    mp: Programme, carrier: str, route: str, booking_class: str, miles: int, eqm: int
) -> None:
    earned = fly(mp, carrier, route, booking_class, standing(mp, "MEMBER"))
    assert (earned.base_miles, earned.tier_bonus_miles, earned.award_miles) == (miles, 0, miles)
    assert earned.credits == {"eqm": eqm, "segments": 1}


@pytest.mark.parametrize(
    ("carrier", "booking_class", "miles"),
    [
        ("AA", "A", 1203),  # DFW-ORD 802 mi: 802 + floor(802 x 50 %) = 802 + 401
        ("AA", "R", 1002),  # 802 + floor(802 x 25 %) = 802 + floor(200.5)
        ("AA", "P", 882),  # 802 + floor(802 x 10 %) = 802 + floor(80.2)
        ("AA", "O", 802),  # every other AA class: 100 + 0
    ],
)
def test_aa_class_bonus_adds_to_the_base(mp: Programme, carrier: str, booking_class: str, miles: int) -> None:
    earned = fly(mp, carrier, "DFW-ORD", booking_class, standing(mp))
    assert (earned.award_miles, earned.credits["eqm"]) == (miles, miles)


@pytest.mark.parametrize(
    ("booking_class", "miles"),
    [
        ("F", 8627),  # JFK-LHR 3,451 mi: 3,451 + floor(3,451 x 150 %) = 3,451 + floor(5,176.5)
        ("D", 6902),  # 3,451 + 3,451 (100 %)
        ("E", 4313),  # 3,451 + floor(3,451 x 25 %) = 3,451 + floor(862.75)
        ("K", 3451),  # 100 + 0
        ("Q", 862),  # floor(3,451 x 25 %) = floor(862.75), no class bonus
    ],
)
def test_ba_base_and_class_bonus(mp: Programme, booking_class: str, miles: int) -> None:
    earned = fly(mp, "BA", "JFK-LHR", booking_class, standing(mp))
    assert (earned.base_miles, earned.award_miles, earned.credits["eqm"]) == (miles, miles, miles)


@pytest.mark.parametrize(
    ("tier", "carrier", "route", "booking_class", "base", "elite"),
    [
        ("MVP", "AA", "JFK-BOS", "Y", 500, 250),  # 187 -> 500 credited; elite 500 x 50 %
        ("MVP_GOLD", "AA", "DFW-ORD", "J", 1002, 802),  # 802 + floor(200.5); elite 802 x 100 %
        # DFW-LHR 4,750 mi in L 25 %: floor(1,187.5) = 1,187; elite floor(4,750 x 125 %) = 5,937
        # (on base miles it would be floor(1,187 x 125 %) = 1,483)
        ("MVP_GOLD_75K", "BA", "DFW-LHR", "L", 1187, 5937),
        # JFK-LHR in F: 3,451 + 5,176 = 8,627; elite floor(3,451 x 150 %) = 5,176 (not 12,940 on base)
        ("MVP_GOLD_100K", "BA", "JFK-LHR", "F", 8627, 5176),
    ],
)
def test_the_elite_bonus_is_a_percent_of_the_credited_distance(
    mp: Programme, tier: str, carrier: str, route: str, booking_class: str, base: int, elite: int
) -> None:
    earned = fly(mp, carrier, route, booking_class, standing(mp, tier, valid_until=date(2027, 12, 31)))
    assert (earned.base_miles, earned.tier_bonus_miles, earned.award_miles) == (base, elite, base + elite)
    assert earned.credits == {"eqm": base, "segments": 1}  # EQM never include the elite bonus


@pytest.mark.parametrize(
    ("eqm", "segments", "tier"),
    [
        (19999, 29, "MEMBER"),
        (20000, 0, "MVP"),  # EQM alone
        (0, 30, "MVP"),  # segments alone
        (39999, 59, "MVP"),
        (40000, 0, "MVP_GOLD"),
        (0, 60, "MVP_GOLD"),
        (74999, 89, "MVP_GOLD"),
        (75000, 0, "MVP_GOLD_75K"),
        (0, 90, "MVP_GOLD_75K"),
        (99999, 119, "MVP_GOLD_75K"),
        (100000, 0, "MVP_GOLD_100K"),
        (0, 120, "MVP_GOLD_100K"),
    ],
)
def test_thresholds_are_eqm_or_segments(mp: Programme, eqm: int, segments: int, tier: str) -> None:
    assert mp.ladder.earned({"eqm": Decimal(eqm), "segments": Decimal(segments)}).code == tier


def test_the_30th_segment_gives_mvp_at_once_to_31_december_next_year(mp: Programme) -> None:
    member = standing(mp, "MEMBER", eqm=3000, segments=29)
    earned = fly(mp, "BA", "LHR-MAN", "Y", member)  # segment 30; 3,000 + 500 EQM
    assert (earned.tier_after, earned.tier_valid_until_after) == ("MVP", date(2027, 12, 31))
    assert earned.award_miles == 500  # earned at the tier held when flown (Member: no elite bonus)
    after = standing_after_credits(mp, member, earned.credits, TODAY)
    # the calendar year goes on counting
    assert (after.period.start, after.totals) == (YEAR_2026, {"eqm": 3500, "segments": 30})


def test_crossing_40000_eqm_gives_mvp_gold(mp: Programme) -> None:
    member = standing(mp, "MVP", eqm=39500, segments=12, valid_until=date(2027, 12, 31))
    # JFK-LHR in Y: 3,451 EQM, 39,500 + 3,451 = 42,951; miles at MVP: 3,451 + floor(3,451 x 50 %) = 5,176
    earned = fly(mp, "BA", "JFK-LHR", "Y", member)
    assert earned.award_miles == 5176
    assert (earned.tier_after, earned.tier_valid_until_after) == ("MVP_GOLD", date(2027, 12, 31))


def night(
    mp: Programme, run: date, tier: str, eqm: int, segments: int
) -> tuple[str, date | None, TierReason | None, bool]:
    held = Standing(tier, date(2026, 12, 31), "MEMBER", Decimal(0))  # a tier earned in 2025
    totals = {YEAR_2026: {"eqm": Decimal(eqm), "segments": Decimal(segments)}}
    out = nightly_standing(mp, run, held, totals)
    return out.tier, out.valid_until, out.reason, out.requalified


def test_on_31_december_the_tier_still_holds(mp: Programme) -> None:
    assert night(mp, date(2026, 12, 31), "MVP_GOLD_100K", 0, 0) == (
        "MVP_GOLD_100K",
        date(2026, 12, 31),
        None,
        False,
    )


@pytest.mark.parametrize(
    ("held", "eqm", "segments", "after", "valid"),
    [
        ("MVP_GOLD_100K", 45000, 10, "MVP_GOLD", date(2027, 12, 31)),  # down two tiers at once
        ("MVP_GOLD_100K", 0, 31, "MVP", date(2027, 12, 31)),  # by segments
        ("MVP_GOLD_75K", 19999, 29, "MEMBER", None),  # straight to the base tier
        ("MVP", 20000, 0, "MVP", date(2027, 12, 31)),  # kept
    ],
)
def test_on_1_january_the_tier_becomes_the_one_earned_last_year_without_soft_landing(
    mp: Programme, held: str, eqm: int, segments: int, after: str, valid: date | None
) -> None:
    assert night(mp, date(2027, 1, 1), held, eqm, segments) == (after, valid, TierReason.REQUALIFIED, True)


def test_miles_never_expire(mp: Programme) -> None:
    assert (mp.expiry.kind, mp.expiry.months) == (ExpiryKind.NEVER, 0)
    assert fly(mp, "AA", "DFW-ORD", "Y", standing(mp)).lot_expires_date is None


def test_the_programme_is_a_calendar_year_valid_to_december_next_year(mp: Programme) -> None:
    rules = mp.qualification
    assert (rules.period.value, rules.valid_month, rules.valid_years_after) == ("calendar_year", 12, 1)
    assert rules.soft_landing == 0
    assert rules.lifetime == ()
    assert mp.currency == "USD"


def test_awards_sell_three_cabins_by_band_with_no_hotel_and_no_bags(mp: Programme) -> None:
    assert mp.awards.cabins == ("economy", "business", "first")
    assert mp.awards.hotel_night_by_category is None
    assert not mp.awards.bags
