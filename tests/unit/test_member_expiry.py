"""What a night expires from one member and what it warns of: the domain rules the set-based night is held to."""

from __future__ import annotations

from datetime import date

from miles.domain.expiry import NOTHING_EXPIRES, MemberMiles, expiry_warnings, miles_expiring
from miles.domain.lots import LotBalance
from miles.domain.programme.model import ExpiryKind, ExpiryPolicy

EXEMPT = frozenset({"GOLD", "PLATINUM"})
LOTS = ExpiryPolicy(ExpiryKind.LOTS, months=36, warning_days=30, exempt_tiers=EXEMPT)
INACTIVITY = ExpiryPolicy(ExpiryKind.INACTIVITY, months=24, warning_days=30, exempt_tiers=EXEMPT)
NEVER = ExpiryPolicy(ExpiryKind.NEVER, warning_days=30)
NIGHT = date(2028, 3, 1)


def member(balance: int, lots: list[LotBalance], **changes: object) -> MemberMiles:
    values: dict[str, object] = {
        "tier": "BLUE",
        "tier_valid_until": None,
        "last_activity_date": date(2027, 1, 1),
        "balance": balance,
        "pending": 0,
        "lots": lots,
    }
    return MemberMiles(**(values | changes))  # type: ignore[arg-type]


def test_expired_lots_go_soonest_first_and_a_debt_no_lot_carries_takes_its_share_first() -> None:
    lots = [
        LotBalance(2, date(2028, 2, 29), 1_000),
        LotBalance(1, date(2028, 1, 31), 500),
        LotBalance(3, None, 800),
    ]
    expiry = miles_expiring(LOTS, NIGHT, member(2_000, lots))  # 300 of debt no lot carries
    assert (expiry.miles, expiry.draws) == (1_200, [(1, 500), (2, 700)])


def test_an_exempt_tier_keeps_its_miles_and_held_miles_never_expire() -> None:
    lots = [LotBalance(1, date(2028, 1, 31), 500)]
    assert miles_expiring(LOTS, NIGHT, member(500, lots, tier="GOLD")).miles == 0
    assert miles_expiring(LOTS, NIGHT, member(500, lots, pending=200)).miles == 300


def test_inactivity_takes_every_available_mile_the_day_after_the_24th_month() -> None:
    lots = [LotBalance(1, None, 900), LotBalance(2, None, 100)]
    on_the_day = member(1_000, lots, last_activity_date=date(2026, 3, 1), pending=250)
    assert miles_expiring(INACTIVITY, NIGHT, on_the_day).miles == 0
    day_before = member(1_000, lots, last_activity_date=date(2026, 2, 28), pending=250)
    expiry = miles_expiring(INACTIVITY, NIGHT, day_before)
    assert (expiry.miles, expiry.draws) == (750, [(1, 750)])


def test_lot_warnings_announce_what_the_debt_leaves_and_skip_a_tier_that_outlasts_the_date() -> None:
    lots = [
        LotBalance(1, date(2028, 3, 5), 1_000),
        LotBalance(2, date(2028, 3, 20), 600),
        LotBalance(3, None, 50),
    ]
    assert expiry_warnings(LOTS, NIGHT, member(1_250, lots)) == [
        (date(2028, 3, 5), 600),
        (date(2028, 3, 20), 600),
    ]
    gold_until_the_10th = member(1_650, lots, tier="GOLD", tier_valid_until=date(2028, 3, 10))
    assert expiry_warnings(LOTS, NIGHT, gold_until_the_10th) == [(date(2028, 3, 20), 600)]


def test_an_inactivity_warning_names_the_last_good_day_and_the_available_miles() -> None:
    quiet = member(1_000, [], last_activity_date=date(2026, 3, 20), pending=100)
    assert expiry_warnings(INACTIVITY, NIGHT, quiet) == [(date(2028, 3, 20), 900)]
    assert expiry_warnings(INACTIVITY, NIGHT, member(1_000, [], last_activity_date=date(2026, 4, 1))) == []


def test_under_the_policy_never_no_mile_expires_and_no_warning_goes_out() -> None:
    lots = [LotBalance(1, date(2028, 1, 31), 500), LotBalance(2, date(2028, 3, 5), 400)]
    quiet = member(900, lots, last_activity_date=date(2020, 1, 1))
    assert miles_expiring(LOTS, NIGHT, quiet).miles == 500  # the same member under lots
    assert expiry_warnings(LOTS, NIGHT, quiet) == [(date(2028, 3, 5), 400)]
    assert miles_expiring(NEVER, NIGHT, quiet) == NOTHING_EXPIRES
    assert expiry_warnings(NEVER, NIGHT, quiet) == []
