"""Date arithmetic shared by the rules: months, month ends, the local date somewhere."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


def end_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


@lru_cache(maxsize=4096)  # pure, and asked for the same few dates by every line of a batch or a file
def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def end_of_month_after(day: date, months: int) -> date:
    """The last day of the `months`-th month after the month of `day`."""
    shifted = add_months(day.replace(day=1), months)
    return end_of_month(shifted.year, shifted.month)


def local_date(now: datetime, zone: str) -> date:
    """The calendar date at the instant `now` (tz-aware) in the IANA zone `zone`."""
    return now.astimezone(ZoneInfo(zone)).date()
