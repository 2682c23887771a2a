"""Flying Blue (src/miles/programme/examples/flying-blue.yaml): coupons worked out by hand from the
rules of issue 13. XP by distance band x cabin (a domestic row), UXP on AF and KL only, AF and KL
miles per EUR of fare by tier, DL miles by class %, Ultimate by XP AND UXP, a rolling 12-month period
that restarts at a new tier, soft landing of one tier, inactivity expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from miles.domain.distance import distance_miles, domestic
from miles.domain.programme.bands import BandTable
from miles.domain.programme.earning import FlightEarning, MemberStanding, earn, standing_after_credits
from miles.domain.programme.model import ExpiryKind, Programme
from miles.domain.programme.qualification import Period
from miles.domain.programme.requalification import Standing, TierReason, nightly_standing
from miles.programme.reading import read_file
from tests.unit.programme.flights import EXAMPLES
from tests.unit.programme.flights import coupon as flight

FILE = EXAMPLES / "flying-blue.yaml"
TODAY = date(2026, 6, 12)  # the day coupons are posted
FLOWN = date(2026, 6, 10)
PERIOD_START = date(2025, 9, 1)  # the member's rolling period: 2025-09-01 to 2026-08-31


@pytest.fixture(scope="module")
def fb() -> Programme:
    return read_file(FILE).in_force(TODAY)


def standing(
    fb: Programme, tier: str = "EXPLORER", xp: int = 0, uxp: int = 0, start: date = PERIOD_START
) -> MemberStanding:
    period = fb.qualification.rolling_period(start)
    return MemberStanding(
        tier=tier,
        tier_valid_until=None if tier == "EXPLORER" else period.end,
        lifetime_tier="EXPLORER",
        lifetime_total=Decimal(0),
        period=period,
        totals={"xp": Decimal(xp), "uxp": Decimal(uxp)},
    )


def fly(
    fb: Programme,
    carrier: str,
    route: str,
    booking_class: str,
    member: MemberStanding,
    fare: str | None = None,
    currency: str = "EUR",
) -> FlightEarning:
    coupon = flight(carrier, route, booking_class, FLOWN, "0571234567890", fare, currency)
    return earn(fb, fb.carriers[carrier], coupon, member, TODAY)


def test_the_routes_used_below_have_these_distances_and_countries() -> None:
    assert (distance_miles("CDG", "NCE"), domestic("CDG", "NCE")) == (432, True)
    assert (distance_miles("JFK", "LAX"), domestic("JFK", "LAX")) == (2475, True)
    assert (distance_miles("AMS", "CDG"), domestic("AMS", "CDG")) == (248, False)
    assert distance_miles("CDG", "CAI") == 1996
    assert distance_miles("CDG", "DXB") == 3259
    assert distance_miles("CDG", "JFK") == 3635
    assert distance_miles("ATL", "CDG") == 4394
    assert distance_miles("AMS", "IAH") == 5012


@pytest.mark.parametrize(
    ("carrier", "route", "booking_class", "xp"),
    [
        ("AF", "CDG-NCE", "Y", 2),  # domestic (FR-FR) economy: 2, whatever the 432 miles
        ("AF", "CDG-NCE", "W", 4),  # domestic premium economy
        ("AF", "CDG-NCE", "J", 6),  # domestic business
        ("AF", "CDG-NCE", "P", 10),  # domestic first
        ("KL", "AMS-CDG", "Y", 5),  # 248 mi, NL-FR: under 2,000, economy
        ("AF", "CDG-CAI", "S", 10),  # 1,996 mi: under 2,000, premium economy
        ("AF", "CDG-DXB", "C", 24),  # 3,259 mi: 2,000 to under 3,500, business
        ("AF", "CDG-JFK", "F", 50),  # 3,635 mi: 3,500 to under 5,000, first
        ("KL", "AMS-IAH", "O", 36),  # 5,012 mi: 5,000 and over, business (O is business)
        ("KL", "AMS-IAH", "X", 12),  # 5,012 mi: 5,000 and over, economy
    ],
)
def test_af_and_kl_coupons_credit_xp_and_the_same_uxp_by_band_and_cabin(
    fb: Programme, carrier: str, route: str, booking_class: str, xp: int
) -> None:
    earned = fly(fb, carrier, route, booking_class, standing(fb), fare="100")
    assert earned.credits == {"xp": Decimal(xp), "uxp": Decimal(xp)}


def xp_table(fb: Programme, carrier: str) -> BandTable:
    (credit,) = [c for c in fb.carriers[carrier].credits if c.metric == "xp"]
    assert credit.table is not None
    return credit.table


@pytest.mark.parametrize(
    ("miles", "economy"),
    [(0, 5), (1999, 5), (2000, 8), (3499, 8), (3500, 10), (4999, 10), (5000, 12), (12000, 12)],
)
def test_xp_bands_hold_both_their_ends(fb: Programme, miles: int, economy: int) -> None:
    # "under 2,000" is 0..1999; "2,000 to under 3,500" is 2000..3499; and so on
    for carrier in ("AF", "KL", "DL"):
        assert xp_table(fb, carrier).value(miles, "economy") == economy


def test_dl_coupons_credit_xp_but_no_uxp(fb: Programme) -> None:
    # ATL-CDG 4,394 mi in J (business): 30 XP, no UXP (a partner)
    assert fly(fb, "DL", "ATL-CDG", "J", standing(fb)).credits == {"xp": 30, "uxp": 0}
    # JFK-LAX is 2,475 mi but US-US: the domestic row, economy 2 XP (not the 2,000+ band's 8)
    assert fly(fb, "DL", "JFK-LAX", "Y", standing(fb)).credits == {"xp": 2, "uxp": 0}


@pytest.mark.parametrize(
    ("booking_class", "miles"),
    [
        ("J", 6591),  # 4,394 x 150 % = 6,591
        ("W", 5492),  # 4,394 x 125 % = 5,492.5 -> 5,492
        ("B", 4394),  # 4,394 x 100 %
        ("Q", 2197),  # 4,394 x 50 %
        ("X", 1098),  # 4,394 x 25 % = 1,098.5 -> 1,098
    ],
)
def test_dl_earns_the_class_percent_of_distance_with_no_tier_bonus(
    fb: Programme, booking_class: str, miles: int
) -> None:
    for tier in ("EXPLORER", "ULTIMATE"):
        earned = fly(fb, "DL", "ATL-CDG", booking_class, standing(fb, tier))
        assert (earned.base_miles, earned.tier_bonus_miles, earned.award_miles) == (miles, 0, miles)


def test_dl_has_no_minimum_on_a_short_flight(fb: Programme) -> None:
    # ATL-JFK is 760 mi; T earns 25 %: 760 x 25 % = 190, no minimum lifts it
    assert distance_miles("ATL", "JFK") == 760
    assert fly(fb, "DL", "ATL-JFK", "T", standing(fb)).award_miles == 190


@pytest.mark.parametrize(
    ("tier", "miles"),
    [("EXPLORER", 4000), ("SILVER", 6000), ("GOLD", 7000), ("PLATINUM", 8000), ("ULTIMATE", 8000)],
)
def test_af_and_kl_earn_miles_per_eur_by_tier(fb: Programme, tier: str, miles: int) -> None:
    # EUR 1,000.00 x 4 / 6 / 7 / 8 / 8 miles per EUR
    for carrier, route in (("AF", "CDG-JFK"), ("KL", "AMS-CDG")):
        earned = fly(fb, carrier, route, "Y", standing(fb, tier), fare="1000.00")
        assert (earned.base_miles, earned.tier_bonus_miles, earned.award_miles) == (miles, 0, miles)


@pytest.mark.parametrize(
    ("tier", "fare", "currency", "eur", "miles"),
    [
        ("EXPLORER", "500", "USD", "465.00", 1860),  # 500 x 0.93 = 465.00; x 4 = 1,860
        # 333.33 x 1.17 = 389.9961 -> 390.00 EUR (to the cent first); x 8 = 3,120 (not 3,119)
        ("PLATINUM", "333.33", "GBP", "390.00", 3120),
        ("SILVER", "99.99", "CHF", "103.99", 623),  # 99.99 x 1.04 = 103.9896 -> 103.99; x 6 = 623.94
        ("GOLD", "123457", "JPY", "765.43", 5358),  # 123,457 x 0.0062 = 765.4334; x 7 = 5,358.01
        ("ULTIMATE", "260", "EUR", "260.00", 2080),  # already EUR; x 8
    ],
)
def test_a_fare_in_another_currency_is_converted_to_eur_to_the_cent(
    fb: Programme, tier: str, fare: str, currency: str, eur: str, miles: int
) -> None:
    earned = fly(fb, "AF", "CDG-JFK", "M", standing(fb, tier), fare=fare, currency=currency)
    assert earned.fare_value == Decimal(eur)
    assert earned.award_miles == miles


def test_af_and_kl_miles_have_no_cap_per_ticket(fb: Programme) -> None:
    member = replace(standing(fb, "PLATINUM"), ticket_award_miles=900_000)
    # EUR 10,000 x 8 = 80,000 miles, however much the ticket earned already
    assert fly(fb, "KL", "AMS-IAH", "J", member, fare="10000").award_miles == 80_000
    assert fb.carriers["AF"].cap_per_ticket is None
    assert fb.carriers["KL"].cap_per_ticket is None


def test_the_coupon_reaching_silver_counts_in_full_and_starts_a_new_period_at_zero(fb: Programme) -> None:
    member = standing(fb, "EXPLORER", xp=95, uxp=95)
    # CDG-JFK 3,635 mi in J: 30 XP, 95 + 30 = 125 >= 100: Silver at once; the 25 over are lost
    earned = fly(fb, "AF", "CDG-JFK", "J", member, fare="2000")
    assert earned.credits == {"xp": 30, "uxp": 30}  # credited in full
    assert earned.award_miles == 8000  # EUR 2,000 x 4: earned at the tier held when flown
    assert earned.tier_after == "SILVER"
    assert earned.period_restarts_date == TODAY
    # the new period: 2026-06-12 to 2027-06-11, the tier valid to its end
    assert earned.tier_valid_until_after == date(2027, 6, 11)
    after = standing_after_credits(fb, member, earned.credits, TODAY)
    assert after.period == Period(date(2026, 6, 12), date(2027, 6, 11))
    assert after.totals == {"xp": 0, "uxp": 0}
    assert (after.tier, after.tier_valid_until) == ("SILVER", date(2027, 6, 11))


def test_a_coupon_may_reach_two_tiers_up_at_once(fb: Programme) -> None:
    # 170 + 50 (CDG-JFK in F, 3,635 mi) = 220 >= 180: Gold, straight from Explorer
    earned = fly(fb, "AF", "CDG-JFK", "F", standing(fb, "EXPLORER", xp=170, uxp=170))
    assert (earned.tier_after, earned.period_restarts_date) == ("GOLD", TODAY)


def test_short_of_the_next_tier_the_counters_keep_adding_up_in_the_same_period(fb: Programme) -> None:
    member = standing(fb, "SILVER", xp=150, uxp=20)
    # CDG-JFK in Y: 10 XP, 150 + 10 = 160 < 180
    after = standing_after_credits(fb, member, fly(fb, "AF", "CDG-JFK", "Y", member).credits, TODAY)
    assert (after.tier, after.period, after.totals) == ("SILVER", member.period, {"xp": 160, "uxp": 30})


def test_meeting_the_tier_held_again_restarts_nothing(fb: Programme) -> None:
    member = standing(fb, "PLATINUM", xp=295, uxp=295)
    earned = fly(fb, "AF", "CDG-JFK", "Y", member)  # 295 + 10 = 305 >= 300: Platinum, already held
    assert (earned.tier_after, earned.period_restarts_date) == ("PLATINUM", None)
    after = standing_after_credits(fb, member, earned.credits, TODAY)
    assert after.totals == {"xp": 305, "uxp": 305}


def test_ultimate_needs_both_300_xp_and_900_uxp(fb: Programme) -> None:
    member = standing(fb, "PLATINUM", xp=400, uxp=895)
    # DL ATL-CDG in Y: 10 XP but no UXP: 410 XP, 895 UXP: still Platinum
    by_partner = fly(fb, "DL", "ATL-CDG", "Y", member)
    assert by_partner.tier_after == "PLATINUM"
    member = standing_after_credits(fb, member, by_partner.credits, TODAY)
    # AF CDG-JFK in Y: 10 XP and 10 UXP: 420 XP, 905 UXP: Ultimate, a new period
    by_af = fly(fb, "AF", "CDG-JFK", "Y", member)
    assert (by_af.tier_after, by_af.period_restarts_date) == ("ULTIMATE", TODAY)


@pytest.mark.parametrize(
    ("xp", "uxp", "tier"),
    [
        (99, 0, "EXPLORER"),
        (100, 0, "SILVER"),
        (179, 0, "SILVER"),
        (180, 0, "GOLD"),
        (300, 0, "PLATINUM"),
        (5000, 899, "PLATINUM"),  # any XP, UXP short: Platinum
        (299, 900, "GOLD"),  # UXP enough, XP short of 300: Gold
        (300, 900, "ULTIMATE"),
    ],
)
def test_thresholds(fb: Programme, xp: int, uxp: int, tier: str) -> None:
    assert fb.ladder.earned({"xp": Decimal(xp), "uxp": Decimal(uxp)}).code == tier


def night(
    fb: Programme, run: date, tier: str, xp: int, start: date = date(2025, 6, 12)
) -> tuple[str, date | None, date | None, TierReason | None, bool]:
    """The nightly run for a member whose rolling period started on `start` (to `start` + 12 months - 1
    day), holding `tier` valid to that end, with `xp` (and as many UXP) in the period."""
    end = fb.qualification.rolling_period(start).end
    held = Standing(tier, None if tier == "EXPLORER" else end, "EXPLORER", Decimal(0), start)
    totals = {start: {"xp": Decimal(xp), "uxp": Decimal(xp)}}
    out = nightly_standing(fb, run, held, totals)
    return out.tier, out.valid_until, out.period_start, out.reason, out.requalified


def test_on_the_last_day_of_the_period_the_night_changes_nothing(fb: Programme) -> None:
    # the period 2025-06-12 .. 2026-06-11 holds the 11th
    assert night(fb, date(2026, 6, 11), "PLATINUM", 0) == (
        "PLATINUM",
        date(2026, 6, 11),
        date(2025, 6, 12),
        None,
        False,
    )


def test_a_tier_requalified_in_its_period_is_kept_for_the_next_one(fb: Programme) -> None:
    # 310 XP >= 300: Platinum kept; the next period 2026-06-12 .. 2027-06-11
    assert night(fb, date(2026, 6, 12), "PLATINUM", 310) == (
        "PLATINUM",
        date(2027, 6, 11),
        date(2026, 6, 12),
        TierReason.REQUALIFIED,
        True,
    )


@pytest.mark.parametrize(
    ("held", "xp", "after", "reason"),
    [
        ("PLATINUM", 150, "GOLD", TierReason.SOFT_LANDING),  # earned Silver; drops one tier only
        ("PLATINUM", 0, "GOLD", TierReason.SOFT_LANDING),
        ("GOLD", 0, "SILVER", TierReason.SOFT_LANDING),
        ("ULTIMATE", 200, "PLATINUM", TierReason.SOFT_LANDING),  # earned Gold; one tier down
        ("GOLD", 120, "SILVER", TierReason.REQUALIFIED),  # earned Silver, which is one tier down
    ],
)
def test_a_tier_not_requalified_drops_one_tier(
    fb: Programme, held: str, xp: int, after: str, reason: TierReason
) -> None:
    assert night(fb, date(2026, 6, 12), held, xp) == (
        after,
        date(2027, 6, 11),
        date(2026, 6, 12),
        reason,
        True,
    )


def test_silver_not_requalified_drops_to_explorer_with_no_validity(fb: Programme) -> None:
    tier, valid, start, reason, requalified = night(fb, date(2026, 6, 12), "SILVER", 40)
    assert (tier, valid, start, requalified) == ("EXPLORER", None, date(2026, 6, 12), True)
    # one tier down is also what was earned (40 < 100: Explorer), so it is a plain requalification
    assert reason is TierReason.REQUALIFIED


def test_the_night_applies_an_upgrade_the_feed_missed_with_a_new_period(fb: Programme) -> None:
    # 190 XP in the current period (2026-01-05 .. 2027-01-04) while Silver: Gold from the run date,
    # a new period 2026-07-01 .. 2027-06-30
    assert night(fb, date(2026, 7, 1), "SILVER", 190, start=date(2026, 1, 5)) == (
        "GOLD",
        date(2027, 6, 30),
        date(2026, 7, 1),
        TierReason.UPGRADE,
        False,
    )


def test_miles_expire_after_24_months_of_inactivity_for_every_tier(fb: Programme) -> None:
    assert (fb.expiry.kind, fb.expiry.months, fb.expiry.exempt_tiers) == (
        ExpiryKind.INACTIVITY,
        24,
        frozenset(),
    )
    # no lot carries an expiry date of its own
    assert fly(fb, "AF", "CDG-JFK", "Y", standing(fb), fare="100").lot_expires_date is None


def test_the_programme_is_in_eur_with_no_lifetime_tiers(fb: Programme) -> None:
    assert fb.currency == "EUR"
    assert fb.rates == {
        "EUR": Decimal(1),
        "USD": Decimal("0.93"),
        "GBP": Decimal("1.17"),
        "CHF": Decimal("1.04"),
        "JPY": Decimal("0.0062"),
    }
    assert fb.qualification.lifetime == ()
    assert fb.qualification.lifetime_metric is None
    assert fb.qualification.soft_landing == 1


def test_awards_sell_economy_and_business_by_band_with_no_hotel_and_no_bags(fb: Programme) -> None:
    assert fb.awards.cabins == ("economy", "business")
    assert fb.awards.hotel_night_by_category is None
    assert not fb.awards.bags
    assert fb.awards.bands.value(3635, "business") == 55000  # CDG-JFK: the 3,500-4,999 band
