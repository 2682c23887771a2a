"""The programme's rules as plain values. The YAML loader in miles.programme builds these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from miles.domain.tiers import Tier


class Earning(StrEnum):
    DISTANCE = "distance"
    REVENUE = "revenue"


class ExpiryKind(StrEnum):
    LOTS = "lots"
    INACTIVITY = "inactivity"


@dataclass(frozen=True)
class ClassRule:
    cabin: str
    earn_percent: int
    status_percent: int


@dataclass(frozen=True)
class CarrierRule:
    code: str
    name: str
    earning: Earning
    classes: Mapping[str, ClassRule]
    # miles per USD by tier; revenue-based carriers only
    revenue_rates: Mapping[Tier, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TierRule:
    tier: Tier
    status_miles: int
    segments: int
    bonus_percent: int


@dataclass(frozen=True)
class LifetimeRule:
    status_miles: int
    tier: Tier


@dataclass(frozen=True)
class Promotion:
    code: str
    carriers: frozenset[str]
    from_date: date
    to_date: date
    bonus_percent: int = 0
    fixed_miles: int = 0
    origins: frozenset[str] = frozenset()
    destinations: frozenset[str] = frozenset()

    def applies(self, carrier: str, origin: str, destination: str, departure_date: date) -> bool:
        return (
            carrier in self.carriers
            and self.from_date <= departure_date <= self.to_date
            and (not self.origins or origin in self.origins)
            and (not self.destinations or destination in self.destinations)
        )


@dataclass(frozen=True)
class ExpiryPolicy:
    kind: ExpiryKind
    months: int
    exempt_tiers: frozenset[Tier]
    warning_days: int


@dataclass(frozen=True)
class AwardBand:
    min_miles: int
    max_miles: int | None
    prices: Mapping[str, int]  # cabin or "bag" -> miles


@dataclass(frozen=True)
class AwardRules:
    bands: tuple[AwardBand, ...]
    standard_multiplier: int
    hotel_night_by_category: Mapping[int, int]
    cancel_fee_miles: int
    cancel_fee_waived_tiers: frozenset[Tier]
    cancel_cutoff_hours: int
    booking_horizon_days: int = 355


@dataclass(frozen=True)
class Programme:
    name: str
    effective_from: date
    timezone: str
    currencies: Mapping[str, Decimal]  # USD value of one unit
    carriers: Mapping[str, CarrierRule]
    tiers: tuple[TierRule, ...]  # ascending, without BLUE
    elite_minimum_miles: int
    elite_minimum_from: Tier
    lifetime: tuple[LifetimeRule, ...]  # ascending
    expiry: ExpiryPolicy
    promotions: tuple[Promotion, ...]
    awards: AwardRules
    goodwill_agent_limit: int
    claim_min_days: int
    claim_max_months: int  # also the accrual window: older coupons earn on no path
    goodwill_member_daily_limit: int = 10_000
    fare_ceiling_usd: Decimal = Decimal("50000")
    claim_agent_limit: int | None = None  # None: goodwill_agent_limit

    @property
    def claim_approval_above(self) -> int:
        """A claim earning more award miles than this waits for a supervisor."""
        return self.goodwill_agent_limit if self.claim_agent_limit is None else self.claim_agent_limit

    def tier_rule(self, tier: Tier) -> TierRule | None:
        for rule in self.tiers:
            if rule.tier == tier:
                return rule
        return None

    def tier_earned(self, status_miles: int, segments: int) -> Tier:
        earned = Tier.BLUE
        for rule in self.tiers:
            if status_miles >= rule.status_miles or segments >= rule.segments:
                earned = max(earned, rule.tier)
        return earned

    def lifetime_tier(self, lifetime_status_miles: int) -> Tier:
        tier = Tier.BLUE
        for rule in self.lifetime:
            if lifetime_status_miles >= rule.status_miles:
                tier = max(tier, rule.tier)
        return tier
