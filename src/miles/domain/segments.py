"""Retention segments: which segment and flags a member has on a run date, and when that changed.

DESIGN.md "Retention analytics and service recovery". The nightly job computes the same thing set-based
in SQL; every boundary below carries its SQL twin in a comment so the two can be held member by member
against each other. In SQL, `:run_date` is the run date and `date + interval 'N months'` clamps to the
month's last day exactly as miles.domain.calendar.add_months does (2027-08-31 + 6 months = 2028-02-29).

Boundaries, decided once:
- "enrolled < N days": run_date - enrolled_date < N (whole days; enrolled 89 days ago is new, 90 is not).
- "quiet": measured from the last activity, or from enrolment when the member never had one.
- "over N months" since a date d: the same day N calendar months later has passed, add_months(d, N) <
  run_date. Quiet since 2027-08-31: on 2028-02-29 it is exactly 6 months (not over), on 2028-03-01 over.
- "within N months" of the run date is the negation: add_months(d, N) >= run_date (and d <= run_date).
- "longer than 1.5 x the usual interval": quiet_days * 2 > usual_interval_days * 3 (integers, no rounding;
  exactly 1.5 x is not longer).

Precedence when several hold: new, then lost, lapsed, at_risk, active. A member enrolled fewer than 90
days ago is new whatever else; lost (24 months, or all miles expired) outranks lapsed (12) outranks
at_risk (6 months, or the member's own rhythm broken).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from miles.domain.calendar import add_months
from miles.domain.errors import InvalidInput

NEW_DAYS = 90
AT_RISK_MONTHS = 6
LAPSED_MONTHS = 12
LOST_MONTHS = 24
INTERVAL_WINDOW_MONTHS = 24  # the activities the usual interval is read from
REPEAT_FLIGHTS = 2
# "longer than 1.5 x the usual interval" as integers: quiet * 2 > interval * 3
AT_RISK_INTERVAL_NUMERATOR, AT_RISK_INTERVAL_DENOMINATOR = 3, 2


class Segment(StrEnum):
    NEW = "new"
    ACTIVE = "active"
    AT_RISK = "at_risk"
    LAPSED = "lapsed"
    LOST = "lost"


class Flag(StrEnum):
    REPEAT = "repeat"
    VIP = "vip"


@dataclass(frozen=True)
class MemberActivityFacts:
    """What the rule needs to know about one member on a run date (the caller reads it as of that date).

    - last_activity_date: the member's latest activity (whatever keeps miles from expiring), None if never.
    - usual_interval_days: see usual_interval_days(); None with fewer than 2 distinct activity dates in the
      last 24 months, and then only the fixed 6-month rule can make the member at_risk.
    - flights_12_months: flights credited with a departure within 12 months of the run date.
    - value_12_months: miles earned (credited, net of their reversals; spending does not reduce it) by
      activities within 12 months of the run date. Miles, not money: every accrual, flown or partner, has
      miles, while a money value exists only for some; integers, as every mile count in the engine.
    - tier / top_tier: the member's tier code and whether it is the programme's highest tier (the caller
      asks the ladder, so no tier is named here).
    - all_miles_expired: the member had miles and every one of them expired (none left unexpired, none
      spent, none pending) — checked by the caller against the lots.
    """

    enrolled_date: date
    last_activity_date: date | None
    usual_interval_days: int | None
    flights_12_months: int
    value_12_months: int
    tier: str
    top_tier: bool
    all_miles_expired: bool

    def __post_init__(self) -> None:
        if self.usual_interval_days is not None and self.usual_interval_days < 1:
            raise InvalidInput(
                "a usual interval is at least one day", field="usual_interval_days", code="out_of_range"
            )
        if self.flights_12_months < 0:
            raise InvalidInput(
                "a flight count is never negative", field="flights_12_months", code="out_of_range"
            )
        if self.value_12_months < 0:
            raise InvalidInput(
                "a 12-month value is never negative", field="value_12_months", code="out_of_range"
            )


def months_passed(since_date: date, run_date: date, months: int) -> bool:
    """Over `months` calendar months since `since_date` on `run_date`: the same day `months` later, clamped
    to the month end, is before the run date."""
    # SQL: since_date + make_interval(months => :months) < :run_date
    return add_months(since_date, months) < run_date


def within_months(day: date, run_date: date, months: int) -> bool:
    """`day` counts as "in the last `months` months" on `run_date` (the run date itself included)."""
    # SQL: day <= :run_date AND day + make_interval(months => :months) >= :run_date
    return day <= run_date and not months_passed(day, run_date, months)


def usual_interval_days(activity_dates: Iterable[date], run_date: date) -> int | None:
    """A member's usual interval between activities: the lower median of the gaps, in days, between
    consecutive distinct activity dates within the last 24 months (within_months); None with fewer than 2.

    The median rather than the mean: the mean of consecutive gaps is just (last - first) / (count - 1),
    so one long absence (a year off) drags it up and hides a broken rhythm; the median reads the member's
    typical pace. The lower median (the gap at position ceil(n / 2), 1-based, ascending) rather than the
    average of the two middle gaps keeps it a whole number of days that SQL reproduces exactly.
    Dates are taken distinct: two activities on one day are one visit, not a gap of 0.
    """
    # SQL: WITH d AS (SELECT DISTINCT member_id, activity_date FROM ... WHERE activity_date <= :run_date
    #        AND activity_date + interval '24 months' >= :run_date),
    #      g AS (SELECT member_id, activity_date - lag(activity_date) OVER (PARTITION BY member_id
    #        ORDER BY activity_date) AS gap FROM d)
    #      SELECT member_id, percentile_disc(0.5) WITHIN GROUP (ORDER BY gap) FROM g
    #      WHERE gap IS NOT NULL GROUP BY member_id
    days = sorted({d for d in activity_dates if within_months(d, run_date, INTERVAL_WINDOW_MONTHS)})
    gaps = sorted((later - earlier).days for earlier, later in zip(days, days[1:], strict=False))
    if not gaps:
        return None
    return gaps[_ceil_div(len(gaps), 2) - 1]


def quiet_since(facts: MemberActivityFacts) -> date:
    """The date the member's quiet starts from: the last activity, or enrolment when there was none."""
    # SQL: coalesce(last_activity_date, enrolled_date)
    return facts.last_activity_date if facts.last_activity_date is not None else facts.enrolled_date


def segment_of(facts: MemberActivityFacts, run_date: date) -> Segment:
    """The member's segment on `run_date`; the first rule that holds wins (see the module docstring).

    new       run_date - enrolled_date < 90 days
    lost      quiet over 24 months, or all miles expired
    lapsed    quiet over 12 months
    at_risk   quiet over 6 months, or quiet days > 1.5 x usual_interval_days (when known)
    active    otherwise
    """
    since = quiet_since(facts)
    # SQL: CASE WHEN :run_date - enrolled_date < 90 THEN 'new'
    if (run_date - facts.enrolled_date).days < NEW_DAYS:
        return Segment.NEW
    # WHEN quiet_since + interval '24 months' < :run_date OR all_miles_expired THEN 'lost'
    if months_passed(since, run_date, LOST_MONTHS) or facts.all_miles_expired:
        return Segment.LOST
    # WHEN quiet_since + interval '12 months' < :run_date THEN 'lapsed'
    if months_passed(since, run_date, LAPSED_MONTHS):
        return Segment.LAPSED
    # WHEN quiet_since + interval '6 months' < :run_date
    #   OR (:run_date - quiet_since) * 2 > usual_interval_days * 3 THEN 'at_risk'   (NULL interval: false)
    if months_passed(since, run_date, AT_RISK_MONTHS) or _rhythm_broken(
        (run_date - since).days, facts.usual_interval_days
    ):
        return Segment.AT_RISK
    # ELSE 'active' END
    return Segment.ACTIVE


def _rhythm_broken(quiet_days: int, interval_days: int | None) -> bool:
    if interval_days is None:
        return False
    return quiet_days * AT_RISK_INTERVAL_DENOMINATOR > interval_days * AT_RISK_INTERVAL_NUMERATOR


def top_percent_threshold(values: Iterable[int], percent: int = 1) -> int | None:
    """The least value that puts a member in the top `percent` % (1 to 100): with the n values in ascending
    order, the one at position k = ceil(n * (100 - percent) / 100), 1-based, at least 1; None for no values.

    That is PostgreSQL's percentile_disc((100 - percent) / 100.0) WITHIN GROUP (ORDER BY value), which takes
    the row at ceil(fraction * n) (for 0.99 the float product rounds up to the same k for any n up to
    2,000,000 at least; this function uses exact integers). With fewer than 100 values and percent=1 it is
    the largest value. Ties are not broken: every member whose value reaches the threshold is in, so the
    top 1 % may hold more than 1 % of members. `values` are every segmented member's value, zeros included.
    """
    # SQL: SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY value_12_months) FROM <all members' facts>
    if not 1 <= percent <= 100:
        raise InvalidInput("a top share is 1 to 100 percent", field="percent", code="out_of_range")
    ordered = sorted(values)
    if not ordered:
        return None
    position = max(_ceil_div(len(ordered) * (100 - percent), 100), 1)
    return ordered[position - 1]


def flags_of(facts: MemberActivityFacts, top_1_percent_value_threshold: int | None) -> frozenset[Flag]:
    """The member's flags (Flag is a str): repeat with 2+ flights in 12 months; vip in the top tier, or with a
    positive 12-month value reaching the top-1 % threshold (top_percent_threshold; None when there were no
    values). A value of 0 is never vip: when over 99 % of members earned nothing the threshold is 0, and
    earning nothing is not being a top customer."""
    flags: set[Flag] = set()
    # SQL: flights_12_months >= 2 AS repeat
    if facts.flights_12_months >= REPEAT_FLIGHTS:
        flags.add(Flag.REPEAT)
    # SQL: top_tier OR (value_12_months > 0 AND value_12_months >= :threshold) AS vip   (NULL threshold: false)
    threshold = top_1_percent_value_threshold
    if facts.top_tier or (
        threshold is not None and facts.value_12_months > 0 and facts.value_12_months >= threshold
    ):
        flags.add(Flag.VIP)
    return frozenset(flags)


@dataclass(frozen=True)
class Transition:
    """A member's segment changed on `run_date`; `from_segment` is None the first time one is given."""

    member_id: int
    from_segment: Segment | None
    to_segment: Segment
    run_date: date


def transition(
    previous: Segment | None, current: Segment, *, member_id: int, run_date: date
) -> Transition | None:
    """The transition to record when the member's `previous` segment (None if never segmented) differs from
    the `current` one; None when it is unchanged."""
    # SQL: INSERT INTO ... SELECT c.member_id, p.segment, c.segment, :run_date FROM current c
    #      LEFT JOIN previous p USING (member_id) WHERE p.segment IS DISTINCT FROM c.segment
    if previous == current:
        return None
    return Transition(member_id=member_id, from_segment=previous, to_segment=current, run_date=run_date)


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)
