"""Rules format 1, the first rules files' shape, validated with pydantic (an edge); miles.programme.format1
reads a format-1 file as format 2."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from miles.programme.format1_fixed import CURRENCY, ELITE_TIERS, TIERS, one_of
from miles.programme.spec import ClaimsSpec, PromotionSpec, known_zone

NonNegative = Annotated[int, Field(ge=0)]
Percent = Annotated[int, Field(ge=0, le=1000)]
# strict: a tier name is a string in the file, as the literal types it replaced asked
TierName = Annotated[StrictStr, AfterValidator(one_of(TIERS))]
EliteName = Annotated[StrictStr, AfterValidator(one_of(ELITE_TIERS))]
Airport = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassSpec(Strict):
    cabin: Literal["first", "business", "premium_economy", "economy"]
    earn_percent: Percent
    status_percent: Percent


class CarrierSpec(Strict):
    name: str
    earning: Literal["distance", "revenue"]
    classes: dict[Annotated[str, Field(pattern=r"^[A-Z]$")], ClassSpec] = Field(min_length=1)
    revenue_rates: dict[TierName, NonNegative] = Field(default_factory=dict, validate_default=True)

    # a field validator, not a model one, so that it reports even when a class is wrong too
    @field_validator("revenue_rates")
    @classmethod
    def _revenue_needs_rates(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        earning = info.data.get("earning")
        if earning == "revenue":
            missing = set(TIERS) - set(value)
            if missing:
                raise ValueError(f"a revenue carrier needs revenue_rates for {sorted(missing)}")
        elif value:
            raise ValueError("revenue_rates only apply to earning: revenue")
        return value


class TierSpec(Strict):
    tier: EliteName
    status_miles: PositiveInt
    segments: PositiveInt
    bonus_percent: Percent


class EliteMinimumSpec(Strict):
    miles: NonNegative
    from_tier: EliteName


class LifetimeSpec(Strict):
    status_miles: PositiveInt
    tier: EliteName


class ExpirySpec(Strict):
    policy: Literal["lots", "inactivity"]
    months: PositiveInt
    exempt_tiers: list[TierName] = Field(default_factory=list)
    warning_days: NonNegative = 30


class BandSpec(Strict):
    max_miles: PositiveInt | None = None
    economy: PositiveInt
    business: PositiveInt
    first: PositiveInt
    bag: PositiveInt


class AwardsSpec(Strict):
    bands: list[BandSpec] = Field(min_length=1)
    standard_multiplier: PositiveInt
    hotel_night_by_category: dict[Annotated[int, Field(ge=1, le=9)], PositiveInt] = Field(min_length=1)
    cancel_fee_miles: NonNegative
    cancel_fee_waived_tiers: list[TierName] = Field(default_factory=list)
    cancel_cutoff_hours: NonNegative
    # how far ahead an award may be quoted or booked: a departure or check-in at most this many days
    # after the programme's today (the past is never bookable)
    booking_horizon_days: Annotated[int, Field(gt=0, le=3660)] = 355

    @model_validator(mode="after")
    def _bands_ascending(self) -> AwardsSpec:
        limits = [b.max_miles for b in self.bands]
        if limits[-1] is not None:
            raise ValueError("the last distance band has no max_miles (it is open-ended)")
        inner = [m for m in limits[:-1] if m is not None]
        if len(inner) != len(limits) - 1 or inner != sorted(set(inner)):
            raise ValueError("bands must have ascending max_miles, all but the last")
        return self


class VersionSpec(Strict):
    effective_from: date
    timezone: str = "UTC"
    currencies: dict[Annotated[str, Field(pattern=r"^[A-Z]{3}$")], Decimal] = Field(min_length=1)
    tiers: list[TierSpec] = Field(min_length=1)
    elite_minimum: EliteMinimumSpec
    lifetime: list[LifetimeSpec] = Field(default_factory=list)
    booking_classes: dict[str, ClassSpec] | None = None  # a place for a YAML anchor
    carriers: dict[Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")], CarrierSpec] = Field(min_length=1)
    promotions: list[PromotionSpec] = Field(default_factory=list)
    expiry: ExpirySpec
    awards: AwardsSpec
    goodwill_agent_limit: NonNegative
    # goodwill miles one member may be granted per programme day without a supervisor; past it (this
    # grant included) a grant waits for approval like one above goodwill_agent_limit
    goodwill_member_daily_limit: NonNegative = 10_000
    # the highest fare a coupon may carry, in USD at the rate table's rates: above it, a 422 on every
    # accrual path (single, batch, claims); it bounds what one coupon can earn
    fare_ceiling_usd: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)] = Decimal("50000")
    claims: ClaimsSpec

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @field_validator("currencies")
    @classmethod
    def _positive_rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in value.items():
            if rate <= 0:
                raise ValueError(f"the rate of {code} must be positive")
        if CURRENCY not in value:
            raise ValueError(f"{CURRENCY} must be in the rate table")
        return value

    @field_validator("tiers")
    @classmethod
    def _tiers_ascending(cls, value: list[TierSpec]) -> list[TierSpec]:
        names = [t.tier for t in value]
        if names != sorted(names, key=ELITE_TIERS.index) or len(set(names)) != len(names):
            raise ValueError(f"tiers must be listed once each, in order {', '.join(ELITE_TIERS)}")
        for low, high in zip(value, value[1:], strict=False):
            if high.status_miles <= low.status_miles or high.segments <= low.segments:
                raise ValueError(f"{high.tier} thresholds must be above {low.tier}'s")
        return value

    @model_validator(mode="after")
    def _promotions_name_carriers(self) -> VersionSpec:
        for promo in self.promotions:
            unknown = set(promo.carriers) - set(self.carriers)
            if unknown:
                raise ValueError(f"promotion {promo.code} names carriers not in the file: {sorted(unknown)}")
        return self


class ProgrammeFile(Strict):
    programme: str = Field(min_length=1)
    versions: list[VersionSpec] = Field(min_length=1)

    @field_validator("versions")
    @classmethod
    def _distinct_dates(cls, value: list[VersionSpec]) -> list[VersionSpec]:
        dates = [v.effective_from for v in value]
        if len(set(dates)) != len(dates):
            raise ValueError("two versions have the same effective_from")
        return value
