"""Accounting months: a month is named by its first day (a `date`), written `YYYY-MM`."""

from __future__ import annotations

import re
from datetime import date

from miles.domain.calendar import end_of_month_after
from miles.domain.errors import InvalidInput

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def month_of(day: date) -> date:
    """The month `day` falls in (its first day)."""
    return day.replace(day=1)


def parse_month(text: str, field: str = "month") -> date:
    """`YYYY-MM` as the month's first day; anything else is refused."""
    match = _MONTH.fullmatch(text)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise InvalidInput(f"{text!r} is not a month written YYYY-MM", field=field, code="invalid_month")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def months_between(earlier: date, later: date) -> int:
    """Whole calendar months from the month of `earlier` to the month of `later` (negative if before)."""
    return (later.year - earlier.year) * 12 + (later.month - earlier.month)


def mature_on(earn_month: date, as_of: date, maturity_months: int) -> bool:
    """Whether a cohort earned in `earn_month` is old enough to tell on `as_of`: the last day of the
    `maturity_months`-th month after its earn month has passed. With a lot expiry of N months and a maturity
    of N, a cohort is mature the day after its last lot expired."""
    return end_of_month_after(earn_month, maturity_months) < as_of
