"""Mileage expiry: when lots and inactive accounts expire, and when members are warned.

Dates are inclusive as DESIGN.md writes them: a lot that "expires end of 2029-03-31" is still good on
2029-03-31 and is expired by the run of 2029-04-01 (expires_date < run date). Under the policy `never`
nothing expires and no warning goes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from miles.domain.calendar import add_months, end_of_month_after
from miles.domain.lots import LotBalance, plan_draws
from miles.domain.programme.model import ExpiryKind, ExpiryPolicy, Programme


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


def exempt(policy: ExpiryPolicy, tier: str) -> bool:
    """Miles of a member at an exempt tier (a code) do not expire while that tier holds."""
    return tier in policy.exempt_tiers


def exempt_tier_names(programme: Programme) -> list[str]:
    """The codes of the tiers whose miles do not expire, sorted."""
    return sorted(programme.expiry.exempt_tiers)


@dataclass(frozen=True)
class MemberMiles:
    """What the expiry rules read of a member on a night (after that night's requalification)."""

    tier: str  # the tier's code
    tier_valid_until: date | None
    last_activity_date: date  # the last accrual or redemption (the enrolment date before the first)
    balance: int
    pending: int  # held for redemptions in flight: never expired
    lots: Sequence[LotBalance] = field(default_factory=tuple)


@dataclass(frozen=True)
class Expiry:
    miles: int
    draws: list[tuple[int, int]]  # (lot id, miles)


NOTHING_EXPIRES = Expiry(0, [])


def miles_expiring(policy: ExpiryPolicy, run_date: date, member: MemberMiles) -> Expiry:
    """What the night of `run_date` expires from the member, and the lots it draws from."""
    if policy.kind is ExpiryKind.NEVER or exempt(policy, member.tier):
        return NOTHING_EXPIRES
    held = [lot for lot in member.lots if lot.remaining > 0]
    if policy.kind is ExpiryKind.INACTIVITY:
        if inactivity_expires_date(member.last_activity_date, policy.months) >= run_date:
            return NOTHING_EXPIRES
        miles = member.balance - member.pending
        if miles <= 0:
            return NOTHING_EXPIRES
        return Expiry(miles, plan_draws(held, miles)[0])
    due = [lot for lot in held if lot_expired(lot.expires_date, run_date)]
    if not due:
        return NOTHING_EXPIRES
    in_lots = sum(lot.remaining for lot in held)
    miles = lots_expiring_miles(sum(lot.remaining for lot in due), in_lots, member.balance, member.pending)
    return Expiry(miles, plan_draws(due, miles)[0]) if miles > 0 else NOTHING_EXPIRES


def expiry_warnings(policy: ExpiryPolicy, run_date: date, member: MemberMiles) -> list[tuple[date, int]]:
    """The warnings the night of `run_date` sends the member (after its expiry): (last good day, miles)
    for every day in the warning window on which miles go. Under the lots policy, a debt that no lot
    carries uses up the soonest-expiring lots first, so a warning announces only the miles left; miles
    of an exempt tier are announced only where the tier ends before they expire."""
    window = warning_window(run_date, policy.warning_days)
    if window is None or policy.kind is ExpiryKind.NEVER:
        return []
    if policy.kind is ExpiryKind.INACTIVITY:
        expires = inactivity_expires_date(member.last_activity_date, policy.months)
        miles = member.balance - member.pending
        if exempt(policy, member.tier) or miles <= 0 or not window[0] <= expires <= window[1]:
            return []
        return [(expires, miles)]
    held = [lot for lot in member.lots if lot.remaining > 0]
    debt_not_in_lots = max(sum(lot.remaining for lot in held) - member.balance, 0)
    by_date: dict[date, int] = {}
    for lot in held:
        if lot.expires_date is not None and lot.expires_date <= window[1]:
            by_date[lot.expires_date] = by_date.get(lot.expires_date, 0) + lot.remaining
    warnings, so_far = [], 0
    for expires, miles in sorted(by_date.items()):
        so_far += miles
        left = min(miles, so_far - debt_not_in_lots)
        tier_holds = exempt(policy, member.tier) and (
            member.tier_valid_until is None or member.tier_valid_until >= expires
        )
        if window[0] <= expires and left > 0 and not tier_holds:
            warnings.append((expires, left))
    return warnings
