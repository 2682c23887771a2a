"""Mileage expiry: when lots and inactive accounts expire, and when members are warned.

Dates are inclusive as DESIGN.md writes them: a lot that "expires end of 2029-03-31" is still good on
2029-03-31 and is expired by the run of 2029-04-01 (expires_date < run date).
"""

from __future__ import annotations

from datetime import date, timedelta

from miles.domain.calendar import add_months, end_of_month_after
from miles.domain.rules import ExpiryPolicy, Programme
from miles.domain.tiers import Tier

# transfer codes that count as activity for the "inactivity" policy (an accrual or a redemption)
ACTIVITY_CODES = ("flight_accrual", "redemption")


def lot_expires_date(earned_date: date, months: int) -> date:
    """The last day a lot is good: the end of the `months`-th month after the month it was earned."""
    return end_of_month_after(earned_date, months)


def lot_expired(expires_date: date | None, run_date: date) -> bool:
    return expires_date is not None and expires_date < run_date


def inactivity_expires_date(last_activity_date: date, months: int) -> date:
    """The last day an inactive member's miles are good: `months` after the last activity."""
    return add_months(last_activity_date, months)


def inactivity_cutoff(run_date: date, months: int) -> date:
    """The earliest activity date that still keeps the miles on `run_date`: miles expire when the last
    activity is before it (equivalently, when inactivity_expires_date(last activity) < run_date)."""
    candidate = add_months(run_date, -months)
    while inactivity_expires_date(candidate - timedelta(days=1), months) >= run_date:
        candidate -= timedelta(days=1)
    while inactivity_expires_date(candidate, months) < run_date:
        candidate += timedelta(days=1)
    return candidate


def lots_expiring_miles(due: int, in_lots: int, balance: int, pending: int) -> int:
    """Miles a night expires from a member under the lots policy: the miles left in the expired lots (`due`),
    less the member's debt that no lot carries yet (a reversal of miles already spent: the lots hold
    `in_lots`, more than the `balance`), which uses up the soonest-expiring lots first; and never more
    than the available miles (balance - pending holds)."""
    debt_not_in_lots = max(in_lots - balance, 0)
    return max(0, min(due - debt_not_in_lots, balance - pending))


def warning_window(run_date: date, warning_days: int) -> tuple[date, date] | None:
    """Expiry dates (inclusive) that the run of `run_date` warns about: miles whose last good day is in
    the next `warning_days` days, so the warning goes out `warning_days` days before they are gone."""
    if warning_days <= 0:
        return None
    return run_date, run_date + timedelta(days=warning_days - 1)


def exempt(policy: ExpiryPolicy, tier: Tier) -> bool:
    """Miles of a member at an exempt tier do not expire while that tier holds."""
    return tier in policy.exempt_tiers


def exempt_tier_names(programme: Programme) -> list[str]:
    return sorted(t.name for t in programme.expiry.exempt_tiers)
