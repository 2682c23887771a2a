"""Promotions as pure values: effects, conditions, window, audience, registration, stacking, limits,
challenges, the enrolment trigger and birthdays (DESIGN.md, "Promotions, challenges and retention offers")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from miles.domain.promotions.evaluation import (
    Award,
    CouponFacts,
    CouponOutcome,
    MemberFacts,
    Progress,
    birthday_award,
    birthday_on,
    evaluate_coupon,
)
from miles.domain.promotions.model import (
    Audience,
    Challenge,
    Conditions,
    Effect,
    EffectKind,
    Limits,
    Promotion,
    Trigger,
)

STARTS = date(2027, 1, 1)
ENDS = date(2027, 3, 31)
DEPARTURE = date(2027, 2, 10)
POSTED = datetime(2027, 2, 11, 9, 0, tzinfo=UTC)
FIXED_500 = Effect(EffectKind.FIXED, miles=500)


def promotion(pid: int = 1, **changes: Any) -> Promotion:
    base = Promotion(
        id=pid,
        code=f"P{pid}",
        name=f"Promotion {pid}",
        trigger=Trigger.FLIGHT,
        starts_on=STARTS,
        ends_on=ENDS,
        effect=FIXED_500,
    )
    return replace(base, **changes)


def coupon(**changes: Any) -> CouponFacts:
    base = CouponFacts(
        carrier="YY",
        origin="JFK",
        destination="LHR",
        cabin="Y",
        booking_class="M",
        distance_miles=3451,
        departure_date=DEPARTURE,
        base_miles=1234,
    )
    return replace(base, **changes)


def member(**changes: Any) -> MemberFacts:
    base = MemberFacts(tier="BASE", enrolled_date=date(2020, 5, 1), last_activity_date=date(2027, 1, 5))
    return replace(base, **changes)


def evaluate(
    promotions: list[Promotion],
    the_coupon: CouponFacts | None = None,
    the_member: MemberFacts | None = None,
    progress: dict[int, Progress] | None = None,
    budgets: dict[int, int] | None = None,
    posted_at: datetime = POSTED,
) -> CouponOutcome:
    return evaluate_coupon(
        promotions,
        the_coupon or coupon(),
        the_member or member(),
        {} if progress is None else progress,
        {} if budgets is None else budgets,
        posted_at,
    )


def earned(outcome: CouponOutcome) -> dict[int, int]:
    """Promotion id -> miles awarded."""
    return {a.promotion.id: a.miles for a in outcome.awards}


# effects


def test_multiplier_gives_floor_of_base_times_value_minus_one() -> None:
    p = promotion(effect=Effect(EffectKind.MULTIPLIER, value=Decimal("1.5")))
    assert earned(evaluate([p], coupon(base_miles=1234))) == {1: 617}
    assert earned(evaluate([p], coupon(base_miles=1235))) == {1: 617}  # 617.5 floored


def test_percent_gives_floor_of_base_times_value_over_100() -> None:
    p = promotion(effect=Effect(EffectKind.PERCENT, value=Decimal("25")))
    assert earned(evaluate([p], coupon(base_miles=1234))) == {1: 308}  # 308.5 floored


def test_fixed_gives_its_miles_whatever_the_base() -> None:
    p = promotion(effect=Effect(EffectKind.FIXED, miles=750))
    assert earned(evaluate([p], coupon(base_miles=1))) == {1: 750}


def test_metric_gives_no_miles_but_the_metric_amount() -> None:
    p = promotion(effect=Effect(EffectKind.METRIC, metric="xp", amount=Decimal("15")))
    outcome = evaluate([p])
    (award,) = outcome.awards
    assert (award.miles, award.metric, award.amount) == (0, "xp", Decimal("15"))
    assert outcome.miles == 0


# conditions

CONDITION_CASES = [
    ("carriers", Conditions(carriers=frozenset({"YY"})), coupon(carrier="ZZ")),
    ("routes", Conditions(routes=frozenset({("JFK", "LHR")})), coupon(origin="LHR", destination="JFK")),
    ("origins", Conditions(origins=frozenset({"JFK"})), coupon(origin="BOS")),
    ("destinations", Conditions(destinations=frozenset({"LHR"})), coupon(destination="CDG")),
    ("cabins", Conditions(cabins=frozenset({"Y"})), coupon(cabin="J")),
    ("booking_classes", Conditions(booking_classes=frozenset({"M"})), coupon(booking_class="Q")),
    ("min_distance", Conditions(min_distance=3451), coupon(distance_miles=3450)),
]


@pytest.mark.parametrize(
    ("name", "conditions", "other"), CONDITION_CASES, ids=[c[0] for c in CONDITION_CASES]
)
def test_each_condition_earns_on_a_matching_coupon_only(
    name: str, conditions: Conditions, other: CouponFacts
) -> None:
    p = promotion(conditions=conditions)
    assert earned(evaluate([p], coupon())) == {1: 500}
    assert earned(evaluate([p], other)) == {}


def test_routes_are_directional() -> None:
    p = promotion(conditions=Conditions(routes=frozenset({("JFK", "LHR")})))
    assert earned(evaluate([p], coupon(origin="JFK", destination="LHR"))) == {1: 500}
    assert earned(evaluate([p], coupon(origin="LHR", destination="JFK"))) == {}


def test_min_distance_equal_to_the_coupon_distance_counts() -> None:
    p = promotion(conditions=Conditions(min_distance=3451))
    assert earned(evaluate([p], coupon(distance_miles=3451))) == {1: 500}
    assert earned(evaluate([p], coupon(distance_miles=3450))) == {}


def test_empty_conditions_mean_any_coupon() -> None:
    odd = coupon(
        carrier="QQ", origin="NRT", destination="SYD", cabin="F", booking_class="A", distance_miles=1
    )
    assert earned(evaluate([promotion()], odd)) == {1: 500}


# window and early end


@pytest.mark.parametrize(
    ("departure", "earns"),
    [(date(2026, 12, 31), False), (STARTS, True), (ENDS, True), (date(2027, 4, 1), False)],
)
def test_window_is_inclusive_of_both_edges(departure: date, earns: bool) -> None:
    assert bool(earned(evaluate([promotion()], coupon(departure_date=departure)))) is earns


def test_promotion_ended_before_posting_does_not_earn() -> None:
    p = promotion(ended_at=datetime(2027, 2, 11, 8, 59, tzinfo=UTC))
    assert earned(evaluate([p], posted_at=POSTED)) == {}


def test_coupon_posted_before_the_promotion_ended_earns() -> None:
    p = promotion(ended_at=datetime(2027, 2, 11, 9, 1, tzinfo=UTC))
    assert earned(evaluate([p], posted_at=POSTED)) == {1: 500}


# audience


def test_tier_filter_uses_the_members_tier_when_posted() -> None:
    p = promotion(audience=Audience(tiers=frozenset({"GOLD", "SILVER"})))
    assert earned(evaluate([p], the_member=member(tier="GOLD"))) == {1: 500}
    assert earned(evaluate([p], the_member=member(tier="BASE"))) == {}


def test_inactive_exactly_n_months_before_qualifies() -> None:
    p = promotion(audience=Audience(inactive_for_months=6))
    assert earned(evaluate([p], the_member=member(last_activity_date=date(2026, 8, 10)))) == {1: 500}


def test_inactive_one_day_less_than_n_months_does_not_qualify() -> None:
    p = promotion(audience=Audience(inactive_for_months=6))
    assert earned(evaluate([p], the_member=member(last_activity_date=date(2026, 8, 11)))) == {}


def test_inactivity_without_any_activity_counts_from_enrolment() -> None:
    p = promotion(audience=Audience(inactive_for_months=6))
    long_ago = member(last_activity_date=None, enrolled_date=date(2026, 8, 10))
    recent = member(last_activity_date=None, enrolled_date=date(2026, 8, 11))
    assert earned(evaluate([p], the_member=long_ago)) == {1: 500}
    assert earned(evaluate([p], the_member=recent)) == {}


def test_enrolled_within_days_counts_the_last_day_but_not_the_next() -> None:
    p = promotion(audience=Audience(enrolled_within_days=30))
    assert earned(evaluate([p], the_member=member(enrolled_date=date(2027, 1, 11)))) == {1: 500}  # 30 days
    assert earned(evaluate([p], the_member=member(enrolled_date=date(2027, 1, 10)))) == {}  # 31 days


# registration


def test_registration_required_and_not_registered_earns_nothing() -> None:
    assert earned(evaluate([promotion(registration_required=True)], the_member=member())) == {}


def test_registered_after_the_departure_earns_nothing() -> None:
    later = member(registrations={1: date(2027, 2, 11)})
    assert earned(evaluate([promotion(registration_required=True)], the_member=later)) == {}


def test_registered_on_the_departure_date_earns() -> None:
    same_day = member(registrations={1: DEPARTURE})
    assert earned(evaluate([promotion(registration_required=True)], the_member=same_day)) == {1: 500}


def test_registration_for_another_promotion_does_not_count() -> None:
    other = member(registrations={2: date(2027, 1, 1)})
    assert earned(evaluate([promotion(registration_required=True)], the_member=other)) == {}


# non-earning coupons


def test_non_earning_coupon_earns_nothing_and_does_not_count_in_challenges() -> None:
    challenge = promotion(2, trigger=Trigger.CHALLENGE, challenge=Challenge(segments=1))
    progress: dict[int, Progress] = {}
    outcome = evaluate([promotion(1), challenge], coupon(base_miles=0), progress=progress)
    assert outcome.awards == ()
    assert outcome.counted == ()
    assert progress.get(2, Progress()).segments == 0


# stacking


def test_same_group_gives_only_the_promotion_with_most_miles() -> None:
    small = promotion(1, stacking_group="route", effect=Effect(EffectKind.FIXED, miles=300))
    big = promotion(2, stacking_group="route", effect=Effect(EffectKind.MULTIPLIER, value=Decimal("2")))
    assert earned(evaluate([small, big])) == {2: 1234}


def test_same_group_tie_goes_to_the_earlier_start() -> None:
    late = promotion(1, stacking_group="g", starts_on=date(2027, 1, 15))
    early = promotion(2, stacking_group="g", starts_on=date(2027, 1, 2))
    assert earned(evaluate([late, early])) == {2: 500}


def test_same_group_tie_with_same_start_goes_to_the_smaller_id() -> None:
    assert earned(evaluate([promotion(9, stacking_group="g"), promotion(4, stacking_group="g")])) == {4: 500}


def test_losing_promotion_is_not_counted_against_its_limits() -> None:
    progress: dict[int, Progress] = {}
    evaluate([promotion(1, stacking_group="g"), promotion(2, stacking_group="g")], progress=progress)
    assert progress[1].times == 1
    assert progress.get(2, Progress()).times == 0  # no entry at all: nothing counted


def test_different_groups_and_ungrouped_promotions_stack() -> None:
    promotions = [
        promotion(1, stacking_group="a"),
        promotion(2, stacking_group="b", effect=Effect(EffectKind.FIXED, miles=200)),
        promotion(3),
        promotion(4, effect=Effect(EffectKind.FIXED, miles=100)),
    ]
    outcome = evaluate(promotions)
    assert earned(outcome) == {1: 500, 2: 200, 3: 500, 4: 100}
    assert outcome.miles == 1300


# limits


def test_per_member_miles_cuts_the_bonus_to_what_is_left_then_nothing() -> None:
    p = promotion(limits=Limits(per_member_miles=800))
    progress: dict[int, Progress] = {}
    assert earned(evaluate([p], progress=progress)) == {1: 500}
    assert earned(evaluate([p], progress=progress)) == {1: 300}
    assert earned(evaluate([p], progress=progress)) == {}
    assert progress[1].miles == 800


def test_per_member_times_stops_after_that_many_bonuses() -> None:
    p = promotion(limits=Limits(per_member_times=2))
    progress: dict[int, Progress] = {}
    results = [earned(evaluate([p], progress=progress)) for _ in range(3)]
    assert results == [{1: 500}, {1: 500}, {}]


def test_budget_is_shared_across_members_cut_partially_then_exhausted() -> None:
    p = promotion(limits=Limits(budget_miles=700))
    budgets = {1: 700}
    assert earned(evaluate([p], the_member=member(tier="A"), progress={}, budgets=budgets)) == {1: 500}
    assert budgets == {1: 200}
    assert earned(evaluate([p], the_member=member(tier="B"), progress={}, budgets=budgets)) == {1: 200}
    assert budgets == {1: 0}
    assert earned(evaluate([p], the_member=member(tier="C"), progress={}, budgets=budgets)) == {}
    assert budgets == {1: 0}


def test_candidate_cut_to_zero_does_not_block_its_groups_other_promotion() -> None:
    exhausted = promotion(1, stacking_group="g", effect=Effect(EffectKind.FIXED, miles=900))
    other = promotion(2, stacking_group="g", effect=Effect(EffectKind.FIXED, miles=100))
    assert earned(evaluate([exhausted, other], budgets={1: 0})) == {2: 100}


def test_partially_cut_bonus_competes_with_its_cut_amount() -> None:
    cut_down = promotion(1, stacking_group="g", effect=Effect(EffectKind.FIXED, miles=900))
    other = promotion(2, stacking_group="g", effect=Effect(EffectKind.FIXED, miles=100))
    assert earned(evaluate([cut_down, other], budgets={1: 50})) == {2: 100}


# challenges


def challenge(pid: int = 7, segments: int = 3, repeat: bool = False, **changes: Any) -> Promotion:
    return promotion(
        pid, trigger=Trigger.CHALLENGE, challenge=Challenge(segments=segments, repeat=repeat), **changes
    )


def run(promotions: list[Promotion], coupons: int, progress: dict[int, Progress]) -> list[dict[int, int]]:
    return [earned(evaluate(promotions, progress=progress)) for _ in range(coupons)]


def test_challenge_without_repeat_pays_on_the_third_coupon_only_never_again() -> None:
    results = run([challenge(repeat=False)], 9, {})
    assert [i + 1 for i, r in enumerate(results) if r] == [3]
    assert results[2] == {7: 500}


def test_challenge_with_repeat_pays_on_every_completed_run() -> None:
    results = run([challenge(repeat=True)], 9, {})
    assert [i + 1 for i, r in enumerate(results) if r] == [3, 6, 9]


def test_non_matching_coupons_do_not_count_in_a_challenge() -> None:
    c = challenge(conditions=Conditions(carriers=frozenset({"YY"})))
    progress: dict[int, Progress] = {}
    assert evaluate([c], coupon(carrier="ZZ"), progress=progress).counted == ()
    assert evaluate([c], progress=progress).counted == (7,)
    assert evaluate([c], coupon(carrier="ZZ"), progress=progress).awards == ()
    assert evaluate([c], progress=progress).awards == ()
    assert earned(evaluate([c], progress=progress)) == {7: 500}


def test_counted_lists_the_challenges_advanced_by_the_coupon() -> None:
    promotions = [
        challenge(7),
        challenge(8, conditions=Conditions(cabins=frozenset({"J"}))),
        challenge(9, segments=5),
        promotion(1),
    ]
    outcome = evaluate(promotions)
    assert sorted(outcome.counted) == [7, 9]


def test_challenge_bonus_is_not_paid_by_a_later_coupon_after_losing_its_group() -> None:
    """The completing (3rd) coupon's bonus loses to a bigger one in the same group; the 4th coupon does
    not complete a run, so it must not pay the challenge bonus either."""
    c = challenge(7, stacking_group="g")
    progress: dict[int, Progress] = {}
    run([c], 2, progress)
    big = promotion(1, stacking_group="g", effect=Effect(EffectKind.FIXED, miles=5000))
    assert earned(evaluate([c, big], progress=progress)) == {1: 5000}
    assert earned(evaluate([c], progress=progress)) == {}  # the 4th coupon completes no run


# enrolment trigger


def enrolment(pid: int = 5) -> Promotion:
    return promotion(pid, trigger=Trigger.ENROLMENT, audience=Audience(enrolled_within_days=30))


def test_first_earning_coupon_within_the_enrolment_window_earns() -> None:
    new = member(enrolled_date=date(2027, 1, 20), last_activity_date=None)
    assert earned(evaluate([enrolment()], the_member=new)) == {5: 500}


def test_enrolment_bonus_not_earned_once_the_member_has_earned() -> None:
    new = member(enrolled_date=date(2027, 1, 20), has_earned=True)
    assert earned(evaluate([enrolment()], the_member=new)) == {}


def test_enrolment_bonus_is_earned_only_once() -> None:
    new = member(enrolled_date=date(2027, 1, 20), last_activity_date=None)
    progress: dict[int, Progress] = {}
    assert earned(evaluate([enrolment()], the_member=new, progress=progress)) == {5: 500}
    assert earned(evaluate([enrolment()], the_member=new, progress=progress)) == {}


def test_enrolment_bonus_outside_the_enrolment_window_is_not_earned() -> None:
    old = member(enrolled_date=date(2027, 1, 10), last_activity_date=None)  # 31 days before departure
    assert earned(evaluate([enrolment()], the_member=old)) == {}


# birthdays


def test_birthday_on_the_same_day_of_another_year() -> None:
    assert birthday_on(date(1980, 6, 15), date(2027, 6, 15))
    assert not birthday_on(date(1980, 6, 15), date(2027, 6, 16))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2027, 2, 28), True),
        (date(2100, 2, 28), True),  # not a leap year
        (date(2028, 2, 29), True),
        (date(2028, 2, 28), False),
        (date(2000, 2, 28), False),  # a leap year
        (date(2027, 3, 1), False),
        (date(2028, 3, 1), False),
    ],
)
def test_birthday_on_29_february_falls_on_28_february_in_other_years_only(day: date, expected: bool) -> None:
    assert birthday_on(date(1992, 2, 29), day) is expected


def birthday(pid: int = 3, **changes: Any) -> Promotion:
    return promotion(pid, trigger=Trigger.BIRTHDAY, **changes)


BIRTH = date(1985, 2, 20)


def granted(award: Award | None) -> int | None:
    return None if award is None else award.miles


def test_birthday_award_on_the_birthday_within_the_window() -> None:
    assert granted(birthday_award(birthday(), BIRTH, member(), date(2027, 2, 20), Progress(), None)) == 500


def test_birthday_award_not_on_another_day() -> None:
    assert birthday_award(birthday(), BIRTH, member(), date(2027, 2, 21), Progress(), None) is None


def test_birthday_award_not_outside_the_window() -> None:
    p = birthday(starts_on=date(2027, 2, 21))
    assert birthday_award(p, BIRTH, member(), date(2027, 2, 20), Progress(), None) is None


def test_birthday_award_respects_audience() -> None:
    p = birthday(audience=Audience(tiers=frozenset({"GOLD"})))
    assert birthday_award(p, BIRTH, member(tier="BASE"), date(2027, 2, 20), Progress(), None) is None


def test_birthday_award_respects_member_and_budget_limits() -> None:
    p = birthday(limits=Limits(per_member_miles=800, per_member_times=1))
    day = date(2027, 2, 20)
    assert granted(birthday_award(p, BIRTH, member(), day, Progress(miles=500), None)) == 300
    assert birthday_award(p, BIRTH, member(), day, Progress(times=1), None) is None
    assert granted(birthday_award(birthday(), BIRTH, member(), day, Progress(), 120)) == 120
    assert birthday_award(birthday(), BIRTH, member(), day, Progress(), 0) is None


def test_birthday_award_only_for_birthday_promotions() -> None:
    assert birthday_award(promotion(), BIRTH, member(), date(2027, 2, 20), Progress(), None) is None


def test_birthday_promotions_are_not_earned_by_coupons() -> None:
    assert earned(evaluate([birthday()])) == {}
