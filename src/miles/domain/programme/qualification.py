"""Qualification periods, how long a tier is valid, soft landing and lifetime tiers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from miles.domain.calendar import add_months, end_of_month

ONE_DAY = timedelta(days=1)


class PeriodKind(StrEnum):
    CALENDAR_YEAR = "calendar_year"
    YEAR_FROM_MONTH = "year_from_month"  # a year starting on the first of a given month
    ROLLING = "rolling_12_months"  # 12 months from the member's period start; restarts at a new tier


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # inclusive

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end


@lru_cache(maxsize=1024)
def _fixed_period(start_month: int, year: int) -> Period:
    start = date(year, start_month, 1)
    return Period(start, add_months(start, 12) - ONE_DAY)


@dataclass(frozen=True)
class LifetimeRule:
    at: Decimal  # the lifetime metric's total that reaches it
    tier: str


@dataclass(frozen=True)
class QualificationRules:
    period: PeriodKind
    start_month: int = 1  # the first month of a fixed period (1 for the calendar year)
    # fixed periods: a tier earned in a period is valid to the end of month `valid_month` of the year
    # `valid_years_after` after the year the period starts in. Rolling periods: to the end of the
    # period the tier starts (or is kept) in.
    valid_month: int = 12
    valid_years_after: int = 1
    soft_landing: int = 0  # an expired tier drops at most this many tiers; 0: straight to what was earned
    lifetime_metric: str | None = None
    lifetime: tuple[LifetimeRule, ...] = ()  # ascending

    @property
    def rolling(self) -> bool:
        return self.period is PeriodKind.ROLLING

    def rolling_period(self, start: date) -> Period:
        return Period(start, add_months(start, 12) - ONE_DAY)

    def fixed_period(self, day: date) -> Period:
        """The fixed (calendar or from-month) period holding `day`."""
        return _fixed_period(self.start_month, day.year if day.month >= self.start_month else day.year - 1)

    def period_for(self, day: date, member_period_start: date | None) -> Period:
        """The period a coupon departing on `day` credits: the fixed period holding the day, or the
        member's current rolling period (a coupon credits the period current when it is posted)."""
        if self.rolling:
            return self.rolling_period(member_period_start or day)
        return self.fixed_period(day)

    def previous(self, period: Period) -> Period:
        start = add_months(period.start, -12)
        return Period(start, period.start - ONE_DAY)

    def valid_until(self, period: Period) -> date:
        """How long a tier earned (or kept) in `period` holds."""
        if self.rolling:
            return period.end
        return end_of_month(period.start.year + self.valid_years_after, self.valid_month)

    def upgrade_periods(self, today: date) -> list[Period]:
        """Fixed periods begun by `today` whose tier would still be valid on `today`, newest first."""
        out: list[Period] = []
        period = self.fixed_period(today)
        while self.valid_until(period) >= today and len(out) < 12:
            out.append(period)
            period = self.previous(period)
        return out

    def last_complete(self, today: date) -> Period:
        """The last fixed period that ended before `today`."""
        return self.previous(self.fixed_period(today))

    def soft_landing_rank(self, rank: int) -> int:
        """The lowest rank an expiring tier of `rank` may drop to."""
        return max(0, rank - self.soft_landing) if self.soft_landing > 0 else 0

    def lifetime_tier(self, total: Decimal) -> str | None:
        """The highest lifetime tier a lifetime total reaches (None: none)."""
        reached = None
        for rule in self.lifetime:
            if total >= rule.at:
                reached = rule.tier
        return reached
