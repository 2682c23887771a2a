"""Tiers, thresholds and valid-until dates."""

from __future__ import annotations

import calendar
from datetime import date
from enum import IntEnum


class Tier(IntEnum):
    BLUE = 0
    SILVER = 1
    GOLD = 2
    PLATINUM = 3

    @classmethod
    def parse(cls, name: str) -> Tier:
        return cls[name.upper()]


def last_day_of_february(year: int) -> date:
    return date(year, 2, 29 if calendar.isleap(year) else 28)


def upgrade_valid_until(qualification_year: int) -> date:
    """A tier earned in year Y is valid until the last day of February of Y + 2."""
    return last_day_of_february(qualification_year + 2)


def requalified_valid_until(run_date: date) -> date:
    """A tier set by the nightly requalification is valid until the end of February of next year."""
    return last_day_of_february(run_date.year + 1)
