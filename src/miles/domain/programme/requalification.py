"""The nightly requalification of one member under any programme: lifetime tiers, upgrades left
unapplied, tiers whose validity ended, rolling periods that ended.

This is the rule as plain Python, for one member. The nightly run applies the same rule to a chunk of
members at once in SQL (miles.adapters.db.requalification); the tests hold both to the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from miles.domain.programme.model import Programme
from miles.domain.programme.qualification import Period

Totals = Mapping[str, Decimal]


class TierReason(StrEnum):
    """Why the nightly run moved a member's tier (or its valid-until)."""

    UPGRADE = "upgrade"  # a threshold crossed that the accrual feed did not apply
    REQUALIFIED = "requalified"  # the tier expired: the tier earned in the period (kept, up or down)
    SOFT_LANDING = "soft_landing"  # the tier expired: down by the soft landing, more than was earned
    LIFETIME = "lifetime"  # a lifetime milestone, or the lifetime tier as a floor


@dataclass(frozen=True)
class Standing:
    """What the nightly run reads of a member."""

    tier: str
    valid_until: date | None
    lifetime_tier: str
    lifetime_total: Decimal
    period_start: date | None = None  # rolling periods: the member's current period


@dataclass(frozen=True)
class NightlyStanding:
    tier: str
    valid_until: date | None
    lifetime_tier: str
    period_start: date | None
    requalified: bool  # the tier's validity (or the rolling period) had ended before the run date
    reason: TierReason | None  # None: the tier and its validity are unchanged


def nightly_standing(
    programme: Programme, run_date: date, standing: Standing, totals: Mapping[date, Totals]
) -> NightlyStanding:
    """A member's standing after the nightly run of `run_date`; `totals` maps a period's start to its
    metrics. In order:
    1. lifetime: the lifetime tier of the lifetime total, never lower than the one held;
    2. fixed periods: a tier whose valid-until is before the run date requalifies: the highest of the
       tier earned in the last complete period, the soft landing and the lifetime tier, valid as a tier
       earned in that period. Rolling periods: a period that ended requalifies the same way on its own
       totals, and the next period starts the day after it ended;
    3. an upgrade the feed left unapplied: fixed periods, the best tier earned in a period whose tier is
       still valid (higher, or the same valid longer); rolling, a tier above the one held starts today
       with a new period;
    4. the lifetime tier is a floor, held for life (no valid-until); the base tier has no valid-until.
    """
    ladder, rules = programme.ladder, programme.qualification
    tier, valid, period_start = standing.tier, standing.valid_until, standing.period_start
    lifetime = standing.lifetime_tier
    if rules.lifetime_metric is not None:
        reached = rules.lifetime_tier(standing.lifetime_total)
        if reached is not None:
            lifetime = ladder.higher(lifetime, reached)
    reason: TierReason | None = None
    empty: Totals = {}

    if rules.rolling:
        current = rules.rolling_period(period_start or run_date)
        requalified = current.end < run_date
        if requalified:
            earned = ladder.earned(totals.get(current.start, empty))
            tier, reason = _requalify(programme, tier, earned.rank, lifetime)
            period_start = current.end + timedelta(days=1)
            valid = rules.rolling_period(period_start).end
        else:
            earned = ladder.earned(totals.get(current.start, empty))
            if earned.rank > ladder.rank(tier):
                period_start = run_date
                tier, valid, reason = earned.code, rules.rolling_period(run_date).end, TierReason.UPGRADE
        requalified = requalified and standing.tier != ladder.base.code
    else:
        requalified = valid is not None and valid < run_date
        if requalified:
            last = rules.last_complete(run_date)
            earned = ladder.earned(totals.get(last.start, empty))
            tier, reason = _requalify(programme, tier, earned.rank, lifetime)
            valid = rules.valid_until(last)
        best: tuple[int, Period] | None = None
        for period in rules.upgrade_periods(run_date):
            rank = ladder.earned(totals.get(period.start, empty)).rank
            if rank > 0 and (best is None or (rank, period) > best):
                best = (rank, period)
        if best is not None:
            rank, period = best
            until = rules.valid_until(period)
            if rank > ladder.rank(tier) or (
                rank == ladder.rank(tier) and valid is not None and until > valid
            ):
                tier, valid, reason = ladder.at(rank).code, until, TierReason.UPGRADE

    if (
        ladder.rank(lifetime) > 0
        and ladder.rank(lifetime) >= ladder.rank(tier)
        and (tier, valid) != (lifetime, None)
    ):
        tier, valid, reason = lifetime, None, TierReason.LIFETIME
    if ladder.rank(tier) == 0:
        valid = None
    if reason is None and lifetime != standing.lifetime_tier:
        reason = TierReason.LIFETIME
    changed = (tier, valid, lifetime) != (standing.tier, standing.valid_until, standing.lifetime_tier)
    return NightlyStanding(tier, valid, lifetime, period_start, requalified, reason if changed else None)


def _requalify(programme: Programme, tier: str, earned_rank: int, lifetime: str) -> tuple[str, TierReason]:
    ladder = programme.ladder
    soft = programme.qualification.soft_landing_rank(ladder.rank(tier))
    rank = max(earned_rank, soft, ladder.rank(lifetime))
    reason = TierReason.SOFT_LANDING if rank == soft and soft > earned_rank else TierReason.REQUALIFIED
    return ladder.at(rank).code, reason
