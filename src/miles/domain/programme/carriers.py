"""How a carrier's coupons earn: award miles (by distance or by revenue) and qualifying credits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from miles.domain.programme.bands import BandTable

CABINS = ("economy", "premium_economy", "business", "first")


@dataclass(frozen=True)
class ClassRule:
    cabin: str
    earn_percent: int  # base miles: % of the credited distance
    bonus_percent: int = 0  # the class bonus: a further % of the credited distance
    qualifying_percent: int | None = None  # for a `distance: qualifying` credit


class Earning(StrEnum):
    DISTANCE = "distance"
    REVENUE = "revenue"


class TierBonusOn(StrEnum):
    NONE = "none"
    BASE = "base"  # floor(base miles x the tier's bonus %)
    DISTANCE = "distance"  # floor(credited distance x the tier's bonus %)


class CreditKind(StrEnum):
    DISTANCE = "distance"  # floor(credited distance x a class percent)
    BAND = "band"  # a table by distance band (and domestic) x cabin
    SEGMENT = "per_segment"  # a fixed count per earning segment (earn_percent > 0)
    FARE = "fare"  # the fare in the accounting currency, cents kept


class PercentOf(StrEnum):
    EARN = "earn"  # the class's earn_percent
    EARN_AND_BONUS = "earn_and_bonus"  # floor(d x earn %) + floor(d x class bonus %)
    QUALIFYING = "qualifying"  # the class's qualifying_percent


@dataclass(frozen=True)
class MetricCredit:
    """How one coupon of the carrier credits one qualifying metric."""

    metric: str
    kind: CreditKind
    percent_of: PercentOf = PercentOf.EARN  # DISTANCE
    minimum_distance: int = 0  # DISTANCE: the credited distance is at least this
    table: BandTable | None = None  # BAND
    per_segment: int = 1  # SEGMENT


@dataclass(frozen=True)
class CarrierRule:
    code: str
    name: str
    earning: Earning
    classes: Mapping[str, ClassRule]
    credits: tuple[MetricCredit, ...] = ()
    # revenue: award miles per unit of the accounting currency, by tier code; at most `cap_per_ticket`
    # award miles (base and tier bonus) per ticket across all its coupons
    revenue_rates: Mapping[str, Decimal] | None = None
    cap_per_ticket: int | None = None
    # distance: the tier bonus, a minimum of base miles from a tier up (on earning segments), a
    # minimum credited distance (for every tier)
    tier_bonus: TierBonusOn = TierBonusOn.NONE
    minimum_miles: int = 0
    minimum_from_rank: int = 0
    minimum_distance: int = 0

    def earns(self, booking_class: str) -> bool:
        return self.classes[booking_class].earn_percent > 0
