"""The nightly requalification of one member: lifetime milestones, upgrades left unapplied, expired tiers.

This is the rule as plain Python, for one member. The nightly run applies the very same rule to a chunk of
members at once in SQL (miles.adapters.db.requalification); the tests check that both agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from miles.domain.rules import Programme
from miles.domain.tiers import Tier, last_day_of_february, requalified_valid_until, upgrade_valid_until


class TierReason(StrEnum):
    """Why the nightly run moved a member's tier (or its valid-until)."""

    UPGRADE = "upgrade"  # a threshold crossed that the accrual feed did not apply
    REQUALIFIED = "requalified"  # the tier expired: the tier earned last year (kept, up or down)
    SOFT_LANDING = "soft_landing"  # the tier expired: one tier down, more than was earned
    LIFETIME = "lifetime"  # a lifetime milestone, or the lifetime tier as a floor


@dataclass(frozen=True)
class Standing:
    """What the nightly run reads of a member."""

    tier: Tier
    valid_until: date | None
    lifetime_tier: Tier
    lifetime_status_miles: int


@dataclass(frozen=True)
class NightlyStanding:
    tier: Tier
    valid_until: date | None
    lifetime_tier: Tier
    requalified: bool  # the tier had expired before the run date
    reason: TierReason | None  # None: nothing changed


def last_complete_year(run_date: date) -> int:
    """The last complete qualification (calendar) year on the run date."""
    return run_date.year - 1


def upgrade_years(run_date: date) -> list[int]:
    """Qualification years whose tier would still be valid on the run date (valid to February of Y + 2)."""
    return [y for y in range(run_date.year - 2, run_date.year + 1) if upgrade_valid_until(y) >= run_date]


def nightly_standing(
    programme: Programme,
    run_date: date,
    standing: Standing,
    qualifying: Mapping[int, tuple[int, int]],
) -> NightlyStanding:
    """A member's standing after the nightly run of `run_date`.

    `qualifying` maps a qualification year to its (status miles, segments). In order:
    1. lifetime: the lifetime tier of the lifetime status miles, never lower than the one held;
    2. requalification of a tier whose valid-until is before the run date: max(tier earned in the last
       complete year, current tier - 1, lifetime tier), valid to the end of February of next year;
    3. an upgrade the feed left unapplied: the best tier earned in a year whose tier is still valid on
       the run date, when it is higher (or the same, valid longer);
    4. the lifetime tier is a floor, held for life (no valid-until); BLUE has no valid-until.
    """
    tier, valid = standing.tier, standing.valid_until
    lifetime = max(standing.lifetime_tier, programme.lifetime_tier(standing.lifetime_status_miles))
    reason: TierReason | None = None

    requalified = valid is not None and valid < run_date
    if requalified:
        last_year = programme.tier_earned(*qualifying.get(last_complete_year(run_date), (0, 0)))
        soft = Tier(max(tier - 1, Tier.BLUE))
        new = max(last_year, soft, lifetime)
        reason = TierReason.SOFT_LANDING if new == soft and soft > last_year else TierReason.REQUALIFIED
        tier, valid = new, requalified_valid_until(run_date)

    best: tuple[Tier, int] | None = None
    for year in upgrade_years(run_date):
        earned = programme.tier_earned(*qualifying.get(year, (0, 0)))
        if earned > Tier.BLUE and (best is None or (earned, year) > best):
            best = (earned, year)
    if best is not None:
        earned, year = best
        until = upgrade_valid_until(year)
        if earned > tier or (earned == tier and valid is not None and until > valid):
            tier, valid, reason = earned, until, TierReason.UPGRADE

    if lifetime > Tier.BLUE and lifetime >= tier and (tier, valid) != (lifetime, None):
        tier, valid, reason = lifetime, None, TierReason.LIFETIME
    if tier == Tier.BLUE:
        valid = None
    if reason is None and lifetime != standing.lifetime_tier:
        reason = TierReason.LIFETIME

    changed = (tier, valid, lifetime) != (standing.tier, standing.valid_until, standing.lifetime_tier)
    return NightlyStanding(tier, valid, lifetime, requalified, reason if changed else None)


__all__ = [
    "NightlyStanding",
    "Standing",
    "TierReason",
    "last_complete_year",
    "last_day_of_february",
    "nightly_standing",
    "upgrade_years",
]
