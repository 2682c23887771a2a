"""Members' complaints and service recovery (DESIGN.md "Retention analytics and service recovery").

An agent records a complaint with a category, the member's words and, when it is settled, a resolution;
the goodwill granted for it may be linked to it. The service-recovery report follows each complaint for
12 months and compares members who were compensated (a linked goodwill that was applied) with those who
were not: this module holds the rules of a complaint and the report's arithmetic (shares and averages as
Decimal, never floats); the counting itself is set-based SQL (miles.adapters.db.complaints).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from miles.domain.errors import InvalidInput
from miles.domain.validation import Problems, check_text

CATEGORIES: tuple[str, ...] = ("delay", "cancellation", "baggage", "seat", "service", "miles", "other")
CATEGORY_NAMES: dict[str, str] = {
    "delay": "Delay",
    "cancellation": "Cancellation",
    "baggage": "Baggage",
    "seat": "Seat",
    "service": "Service",
    "miles": "Miles",
    "other": "Other",
}
MAX_TEXT = 2000  # a description or a resolution (the columns' CHECK says the same)
FOLLOW_MONTHS = 12  # how long after a complaint the report follows the member
SHARE_PLACES = Decimal("0.0001")
# the bounds of the report's range: a year's arithmetic on either stays within every calendar
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
AVERAGE_PLACES = Decimal("0.01")


def validate_category(category: str) -> None:
    if category not in CATEGORIES:
        raise InvalidInput(
            f"choose a category: {', '.join(CATEGORIES)}", field="category", code="unknown_category"
        )


def validate_text(value: str, field: str, what: str) -> None:
    """A description or a resolution: 1 to MAX_TEXT characters, not only spaces, on several lines if need
    be (tab and line breaks), no other control character."""
    if not value.strip():
        raise InvalidInput(f"say {what}", field=field, code="required")
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"at most {MAX_TEXT:,} characters", field=field, code="too_long")
    check_text(value, field, multiline=True)


def validate_resolution(resolution: str) -> None:
    validate_text(resolution, "resolution", "how it was resolved")


def validate_complaint(category: str, description: str, resolution: str | None = None) -> None:
    """Raises InvalidFields naming each bad field (category, description, resolution when given)."""
    problems = Problems()
    problems.check(lambda: validate_category(category))
    problems.check(lambda: validate_text(description, "description", "what the member complains about"))
    if resolution is not None:
        problems.check(lambda: validate_resolution(resolution))
    problems.raise_any()


def parse_report_day(value: str, field: str) -> date:
    """A bound of the report's range: a real day written YYYY-MM-DD, from FIRST_DAY to LAST_DAY."""
    try:
        if not DAY.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{field} is a date written YYYY-MM-DD", field=field, code="invalid_date"
        ) from None
    check_report_day(day, field)
    return day


def check_report_day(day: date, field: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(
            f"{field} is a day from {FIRST_DAY} to {LAST_DAY}", field=field, code="invalid_date"
        )


def validate_report_range(from_date: date, to_date: date) -> None:
    """The complaints recorded from `from_date` to `to_date`, both included: never a reversed range."""
    check_report_day(from_date, "from")
    check_report_day(to_date, "to")
    if to_date < from_date:
        raise InvalidInput(f"to ({to_date}) is before from ({from_date})", field="to", code="reversed_range")


# --- the report's arithmetic -------------------------------------------------------------------------


def share(part: int, whole: int) -> Decimal | None:
    """part / whole to 4 places (0.2500 is a quarter); None when there is no whole to share."""
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(SHARE_PLACES, rounding=ROUND_HALF_UP)


def per_member(total: int, members: int) -> Decimal | None:
    """total / members to 2 places; None without members."""
    if members == 0:
        return None
    return (Decimal(total) / Decimal(members)).quantize(AVERAGE_PLACES, rounding=ROUND_HALF_UP)


def difference(compensated: Decimal | None, not_compensated: Decimal | None) -> Decimal | None:
    """The compensated group's figure less the other's; None when either group has none."""
    if compensated is None or not_compensated is None:
        return None
    return compensated - not_compensated


@dataclass(frozen=True)
class GroupCounts:
    """What the SQL counts for one group over the 12 months after each member's complaint."""

    members: int
    complaints: int
    complaints_full_year: int  # complaints whose 12 months are over by the report's date
    members_full_year: int  # members whose window is a whole 12 months
    members_active: int  # a flight accrual or a posted partner activity in their window
    members_left: int  # lapsed or lost (their segment), else 12 months without activity
    flights: int
    miles: int  # earned in their windows: flights and partner activity (goodwill is not earned)


@dataclass(frozen=True)
class GroupFigures:
    compensated: bool
    members: int
    complaints: int
    complaints_full_year: int
    members_full_year: int
    members_active: int
    members_left: int
    flights: int
    miles_earned: int
    share_active: Decimal | None
    flights_per_member: Decimal | None
    miles_per_member: Decimal | None
    share_left: Decimal | None


def group_figures(compensated: bool, counts: GroupCounts) -> GroupFigures:
    return GroupFigures(
        compensated=compensated,
        members=counts.members,
        complaints=counts.complaints,
        complaints_full_year=counts.complaints_full_year,
        members_full_year=counts.members_full_year,
        members_active=counts.members_active,
        members_left=counts.members_left,
        flights=counts.flights,
        miles_earned=counts.miles,
        share_active=share(counts.members_active, counts.members),
        flights_per_member=per_member(counts.flights, counts.members),
        miles_per_member=per_member(counts.miles, counts.members),
        share_left=share(counts.members_left, counts.members),
    )


@dataclass(frozen=True)
class Differences:
    """Compensated less not compensated, figure by figure (None when a group is empty)."""

    share_active: Decimal | None
    flights_per_member: Decimal | None
    miles_per_member: Decimal | None
    share_left: Decimal | None


def differences(compensated: GroupFigures, not_compensated: GroupFigures) -> Differences:
    return Differences(
        share_active=difference(compensated.share_active, not_compensated.share_active),
        flights_per_member=difference(compensated.flights_per_member, not_compensated.flights_per_member),
        miles_per_member=difference(compensated.miles_per_member, not_compensated.miles_per_member),
        share_left=difference(compensated.share_left, not_compensated.share_left),
    )
