"""Retention segments and flags: each segment and flag, every boundary on both sides, precedence."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from miles.domain.errors import InvalidInput
from miles.domain.segments import (
    Flag,
    MemberActivityFacts,
    Segment,
    Transition,
    flags_of,
    segment_of,
    top_percent_threshold,
    transition,
    usual_interval_days,
)

RUN = date(2026, 11, 23)
LONG_AGO = date(2020, 1, 15)


def facts(**changes: Any) -> MemberActivityFacts:
    """A member enrolled long ago, active yesterday, no usual interval, no flights, nothing earned."""
    fields: dict[str, Any] = {
        "enrolled_date": LONG_AGO,
        "last_activity_date": RUN - timedelta(days=1),
        "usual_interval_days": None,
        "flights_12_months": 0,
        "value_12_months": 0,
        "tier": "BLUE",
        "top_tier": False,
        "all_miles_expired": False,
    }
    fields.update(changes)
    return MemberActivityFacts(**fields)


def days_before(run: date, days: int) -> date:
    return run - timedelta(days=days)


# --- one member in each segment ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        (facts(enrolled_date=days_before(RUN, 10), last_activity_date=None), Segment.NEW),
        (facts(last_activity_date=days_before(RUN, 30)), Segment.ACTIVE),
        (facts(last_activity_date=date(2026, 3, 1)), Segment.AT_RISK),
        (facts(last_activity_date=date(2025, 6, 1)), Segment.LAPSED),
        (facts(last_activity_date=date(2024, 6, 1)), Segment.LOST),
    ],
)
def test_a_member_built_for_each_segment_lands_in_it(member: MemberActivityFacts, expected: Segment) -> None:
    assert segment_of(member, RUN) is expected


# --- new: enrolled < 90 days ---------------------------------------------------------------------


def test_enrolled_89_days_ago_is_new() -> None:
    assert segment_of(facts(enrolled_date=days_before(RUN, 89)), RUN) is Segment.NEW


def test_enrolled_90_days_ago_is_no_longer_new() -> None:
    assert segment_of(facts(enrolled_date=days_before(RUN, 90)), RUN) is Segment.ACTIVE


def test_enrolled_on_the_run_date_is_new() -> None:
    assert segment_of(facts(enrolled_date=RUN, last_activity_date=None), RUN) is Segment.NEW


# --- at_risk by the member's own rhythm: quiet > 1.5 x usual interval -----------------------------


def test_quiet_exactly_one_and_a_half_usual_intervals_is_still_active() -> None:
    member = facts(usual_interval_days=10, last_activity_date=days_before(RUN, 15))
    assert segment_of(member, RUN) is Segment.ACTIVE


def test_quiet_a_day_longer_than_one_and_a_half_usual_intervals_is_at_risk() -> None:
    member = facts(usual_interval_days=10, last_activity_date=days_before(RUN, 16))
    assert segment_of(member, RUN) is Segment.AT_RISK


@pytest.mark.parametrize(("quiet_days", "expected"), [(10, Segment.ACTIVE), (11, Segment.AT_RISK)])
def test_an_odd_usual_interval_compares_without_rounding(quiet_days: int, expected: Segment) -> None:
    # 1.5 x 7 = 10.5 days: 10 quiet days are within it, 11 are over
    member = facts(usual_interval_days=7, last_activity_date=days_before(RUN, quiet_days))
    assert segment_of(member, RUN) is expected


def test_without_a_usual_interval_only_six_months_of_quiet_make_a_member_at_risk() -> None:
    member = facts(usual_interval_days=None, last_activity_date=days_before(RUN, 150))
    assert segment_of(member, RUN) is Segment.ACTIVE


def test_a_long_usual_interval_does_not_spare_a_member_quiet_over_six_months() -> None:
    member = facts(usual_interval_days=200, last_activity_date=date(2026, 5, 22))
    assert segment_of(member, RUN) is Segment.AT_RISK


# --- over 6 / 12 / 24 calendar months, to the day --------------------------------------------------


@pytest.mark.parametrize(
    ("last_activity", "expected"),
    [
        (date(2026, 5, 23), Segment.ACTIVE),  # exactly 6 months: not over
        (date(2026, 5, 22), Segment.AT_RISK),
        (date(2025, 11, 23), Segment.AT_RISK),  # exactly 12 months
        (date(2025, 11, 22), Segment.LAPSED),
        (date(2024, 11, 23), Segment.LAPSED),  # exactly 24 months
        (date(2024, 11, 22), Segment.LOST),
    ],
)
def test_month_boundaries_count_over_only_from_the_day_after(last_activity: date, expected: Segment) -> None:
    assert segment_of(facts(last_activity_date=last_activity), RUN) is expected


@pytest.mark.parametrize(
    ("last_activity", "run", "expected"),
    [
        # 31 August + 6 months clamps to 29 February in a leap year
        (date(2027, 8, 31), date(2028, 2, 29), Segment.ACTIVE),
        (date(2027, 8, 31), date(2028, 3, 1), Segment.AT_RISK),
        (date(2027, 8, 29), date(2028, 2, 29), Segment.ACTIVE),
        (date(2027, 8, 28), date(2028, 2, 29), Segment.AT_RISK),
        # and to 28 February otherwise
        (date(2026, 8, 31), date(2027, 2, 28), Segment.ACTIVE),
        (date(2026, 8, 31), date(2027, 3, 1), Segment.AT_RISK),
        # 29 February + 12 months clamps to 28 February
        (date(2028, 2, 29), date(2029, 2, 28), Segment.AT_RISK),
        (date(2028, 2, 29), date(2029, 3, 1), Segment.LAPSED),
    ],
)
def test_calendar_months_clamp_to_the_month_end(last_activity: date, run: date, expected: Segment) -> None:
    assert segment_of(facts(last_activity_date=last_activity), run) is expected


# --- a member with no activity ever: quiet since enrolment -----------------------------------------


@pytest.mark.parametrize(
    ("enrolled", "expected"),
    [
        (days_before(RUN, 100), Segment.ACTIVE),
        (date(2026, 5, 23), Segment.ACTIVE),
        (date(2026, 5, 22), Segment.AT_RISK),
        (date(2025, 11, 22), Segment.LAPSED),
        (date(2024, 11, 22), Segment.LOST),
    ],
)
def test_a_member_who_never_had_activity_is_quiet_since_enrolment(enrolled: date, expected: Segment) -> None:
    member = facts(enrolled_date=enrolled, last_activity_date=None)
    assert segment_of(member, RUN) is expected


# --- lost by expiry and precedence -------------------------------------------------------------------


def test_a_member_whose_miles_all_expired_is_lost_even_if_recently_active() -> None:
    member = facts(all_miles_expired=True, last_activity_date=days_before(RUN, 1))
    assert segment_of(member, RUN) is Segment.LOST


def test_new_wins_over_everything_else() -> None:
    member = facts(
        enrolled_date=days_before(RUN, 10),
        last_activity_date=days_before(RUN, 9),
        usual_interval_days=1,
        all_miles_expired=True,
    )
    assert segment_of(member, RUN) is Segment.NEW


def test_lost_wins_over_lapsed_and_at_risk() -> None:
    member = facts(last_activity_date=date(2024, 1, 1), usual_interval_days=5)
    assert segment_of(member, RUN) is Segment.LOST


def test_lapsed_wins_over_at_risk_by_rhythm() -> None:
    member = facts(last_activity_date=date(2025, 6, 1), usual_interval_days=5)
    assert segment_of(member, RUN) is Segment.LAPSED


# --- the usual interval ------------------------------------------------------------------------------


def test_usual_interval_is_none_with_fewer_than_two_activity_dates() -> None:
    assert usual_interval_days([], RUN) is None
    assert usual_interval_days([date(2026, 10, 1)], RUN) is None
    assert usual_interval_days([date(2026, 10, 1), date(2026, 10, 1)], RUN) is None


def test_usual_interval_is_the_median_gap_so_one_long_absence_does_not_move_it() -> None:
    # gaps 10, 10, 300, 12 -> sorted 10, 10, 12, 300 -> lower median 10 (the mean would be 83)
    activity = [
        date(2025, 1, 1),
        date(2025, 1, 11),
        date(2025, 1, 21),
        date(2025, 11, 17),
        date(2025, 11, 29),
    ]
    assert usual_interval_days(activity, RUN) == 10


def test_usual_interval_of_an_odd_number_of_gaps_is_the_middle_one() -> None:
    # gaps 5, 20, 9 -> middle 9
    activity = [date(2026, 9, 1), date(2026, 9, 6), date(2026, 9, 26), date(2026, 10, 5)]
    assert usual_interval_days(reversed(activity), RUN) == 9


def test_usual_interval_counts_several_activities_on_one_day_once() -> None:
    activity = [date(2026, 9, 1), date(2026, 9, 1), date(2026, 9, 1), date(2026, 9, 15)]
    assert usual_interval_days(activity, RUN) == 14


def test_usual_interval_reads_only_the_last_24_months_to_the_day() -> None:
    included = [date(2024, 11, 23), date(2024, 12, 3)]  # exactly 24 months before the run: in
    assert usual_interval_days(included, RUN) == 10
    excluded = [date(2024, 11, 22), date(2024, 12, 3)]  # a day earlier: out, one date left
    assert usual_interval_days(excluded, RUN) is None


def test_usual_interval_ignores_activity_after_the_run_date() -> None:
    assert usual_interval_days([date(2026, 11, 1), date(2026, 11, 24)], RUN) is None


# --- flags -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("flights", "repeat"), [(0, False), (1, False), (2, True), (7, True)])
def test_repeat_takes_two_flights_in_twelve_months(flights: int, repeat: bool) -> None:
    assert (Flag.REPEAT in flags_of(facts(flights_12_months=flights), 10_000)) is repeat


def test_a_top_tier_member_is_vip_whatever_the_value() -> None:
    assert flags_of(facts(top_tier=True, tier="GOLD"), 10_000) == {Flag.VIP}


@pytest.mark.parametrize(("value", "vip"), [(9_999, False), (10_000, True), (50_000, True)])
def test_vip_by_value_takes_reaching_the_top_one_percent_threshold(value: int, vip: bool) -> None:
    assert (Flag.VIP in flags_of(facts(value_12_months=value), 10_000)) is vip


def test_nothing_earned_is_never_vip_even_when_the_threshold_is_zero() -> None:
    assert flags_of(facts(value_12_months=0), 0) == frozenset()
    assert flags_of(facts(value_12_months=1), 0) == {Flag.VIP}


def test_without_a_threshold_only_the_top_tier_makes_a_vip() -> None:
    assert flags_of(facts(value_12_months=10**9), None) == frozenset()
    assert flags_of(facts(top_tier=True), None) == {Flag.VIP}


def test_a_member_can_carry_both_flags_and_they_read_as_plain_strings() -> None:
    flags = flags_of(facts(flights_12_months=3, value_12_months=20_000), 10_000)
    assert flags == {"repeat", "vip"}


# --- the top 1 % threshold ---------------------------------------------------------------------------


def test_threshold_of_no_values_is_none() -> None:
    assert top_percent_threshold([]) is None


def test_threshold_of_fewer_than_a_hundred_values_is_the_largest() -> None:
    assert top_percent_threshold([5]) == 5
    assert top_percent_threshold([3, 90, 7, 0, 12]) == 90
    assert top_percent_threshold(range(1, 100)) == 99  # 99 values: k = ceil(98.01) = 99, the last


def test_threshold_takes_the_value_at_ceil_of_99_percent_of_the_count() -> None:
    assert top_percent_threshold(range(1, 101)) == 99  # k = 99 of 100
    assert top_percent_threshold(range(1, 102)) == 100  # k = ceil(99.99) = 100 of 101
    assert top_percent_threshold(range(1, 201)) == 198  # k = 198 of 200


def test_threshold_keeps_ties_so_every_tied_member_reaches_it() -> None:
    values = [0] * 150 + [500] * 50
    threshold = top_percent_threshold(values)
    assert threshold == 500
    assert sum(value >= threshold for value in values) == 50


def test_threshold_for_another_share() -> None:
    assert top_percent_threshold(range(1, 11), percent=10) == 9
    assert top_percent_threshold(range(1, 11), percent=100) == 1


@pytest.mark.parametrize("percent", [0, 101, -1])
def test_threshold_refuses_a_share_outside_one_to_a_hundred(percent: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        top_percent_threshold([1, 2, 3], percent=percent)
    assert refused.value.field == "percent"


# --- facts validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("flights_12_months", -1), ("value_12_months", -5), ("usual_interval_days", 0)]
)
def test_facts_refuse_impossible_counts(field: str, value: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        facts(**{field: value})
    assert refused.value.field == field


# --- transitions -------------------------------------------------------------------------------------


def test_no_transition_when_the_segment_is_unchanged() -> None:
    assert transition(Segment.ACTIVE, Segment.ACTIVE, member_id=7, run_date=RUN) is None


def test_a_changed_segment_is_a_transition() -> None:
    assert transition(Segment.ACTIVE, Segment.AT_RISK, member_id=7, run_date=RUN) == Transition(
        member_id=7, from_segment=Segment.ACTIVE, to_segment=Segment.AT_RISK, run_date=RUN
    )


def test_the_first_segment_a_member_gets_is_a_transition_from_none() -> None:
    recorded = transition(None, Segment.NEW, member_id=7, run_date=RUN)
    assert recorded is not None
    assert recorded.from_segment is None
    assert recorded.to_segment is Segment.NEW


def test_a_member_won_back_is_a_transition_out_of_lost() -> None:
    recorded = transition(Segment.LOST, Segment.ACTIVE, member_id=7, run_date=RUN)
    assert recorded is not None
    assert (recorded.from_segment, recorded.to_segment) == (Segment.LOST, Segment.ACTIVE)
