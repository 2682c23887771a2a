"""Retention analytics: what the reports read from the nightly segments (DESIGN.md "Retention analytics and
service recovery"). The reports themselves are set-based SQL; the rules they apply are decided here once,
each with its SQL twin next to it.

- **Lost** in a month: the members whose segment became `lost` on a night of that month.
- **What preceded it**: the latest of a tier downgrade, an expiry of miles and a complaint in the 12 months
  before that night; on the same day a complaint outranks a downgrade, which outranks an expiry (the member's
  own words first, then what the programme did to them); `none` when none happened.
- **Won back** in a month: the members whose segment became `new` or `active` on a night of that month from
  `lapsed` or `lost`; their **return** is their latest flight credited on or before that night and departed
  within the 12 months before it (an older one predates the lapse), and the promotions that flight earned are
  what brought them back (`none` when it earned none, or when they came back with a partner activity).
- **Retained** at a date: the member's segment then (the last transition on or before it) is `new`, `active`
  or `at_risk` (active within the last 12 months); `lapsed` and `lost` are not. Cohort retention is the share
  of an enrolment month's members retained at the end of each month since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from miles.domain.calendar import add_months
from miles.domain.errors import InvalidInput
from miles.domain.finance.months import months_between
from miles.domain.segments import Segment, within_months

LOOKBACK_MONTHS = 12  # how far before a loss its cause is looked for
RETAINED = (Segment.NEW, Segment.ACTIVE, Segment.AT_RISK)
WON_BACK_FROM = (Segment.LAPSED, Segment.LOST)
WON_BACK_TO = (Segment.NEW, Segment.ACTIVE)
MAX_MONTHS = 60  # the longest range a report answers
SHARE = Decimal("0.0001")


class Cause(StrEnum):
    COMPLAINT = "complaint"
    DOWNGRADE = "downgrade"
    EXPIRY = "expiry"
    NONE = "none"


# SQL: ORDER BY event_date DESC, CASE kind WHEN 'complaint' THEN 0 WHEN 'downgrade' THEN 1 ELSE 2 END
CAUSE_RANK = {Cause.COMPLAINT: 0, Cause.DOWNGRADE: 1, Cause.EXPIRY: 2}


@dataclass(frozen=True)
class Event:
    cause: Cause
    on: date


def cause_of_loss(events: list[Event], lost_on: date) -> Cause:
    """What preceded a loss on `lost_on`: the latest event within the 12 months before it (the loss day
    included); on the same day the higher-ranked cause; NONE without one."""
    candidates = [
        e for e in events if e.cause is not Cause.NONE and within_months(e.on, lost_on, LOOKBACK_MONTHS)
    ]
    if not candidates:
        return Cause.NONE
    return min(candidates, key=lambda e: (-e.on.toordinal(), CAUSE_RANK[e.cause])).cause


def share(part: int, whole: int) -> Decimal | None:
    """part / whole to four places (half up); None for an empty whole."""
    if whole < 0 or part < 0 or part > whole:
        raise InvalidInput(f"{part} of {whole} is not a share", field="share", code="out_of_range")
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(SHARE, rounding=ROUND_HALF_UP)


def month_range(first: date, last: date, field: str = "from") -> list[date]:
    """The months from `first` to `last` (first days), both included; refused when reversed or too long."""
    count = months_between(first, last) + 1
    if count < 1:
        raise InvalidInput("the range ends before it starts", field=field, code="reversed_range")
    if count > MAX_MONTHS:
        raise InvalidInput(f"a report covers at most {MAX_MONTHS} months", field=field, code="range_too_long")
    return [add_months(first, i) for i in range(count)]
