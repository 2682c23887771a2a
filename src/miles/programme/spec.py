"""Rules format 2, as pydantic models (an edge): the shape of every key, and the rules that hold within
one part of the file. Rules across parts (a tier or metric named elsewhere) are checked in
miles.programme.crosscheck, every mistake with its path; docs/programme-rules.md is the reference."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NonNegative = Annotated[int, Field(ge=0)]
Percent = Annotated[int, Field(ge=0, le=1000)]
TierCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,23}$")]
MetricCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
CarrierCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]
ClassCode = Annotated[str, Field(pattern=r"^[A-Z]$")]
Airport = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Cabin = Literal["economy", "premium_economy", "business", "first"]
Rate = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=6)]
Miles = Annotated[int, Field(gt=0, le=10_000_000)]
Threshold = Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricSpec(Strict):
    code: MetricCode
    name: str = Field(min_length=1, max_length=60)
    money: bool = False


class TierSpec(Strict):
    code: TierCode
    name: str = Field(min_length=1, max_length=60)
    qualify: list[dict[MetricCode, Threshold]] = Field(default_factory=list)
    bonus_percent: Percent = 0
    perks: list[Literal["miles_never_expire", "cancel_fee_waived"]] = Field(default_factory=list)

    @field_validator("qualify")
    @classmethod
    def _sets_not_empty(cls, value: list[dict[str, Decimal]]) -> list[dict[str, Decimal]]:
        if any(not requirement for requirement in value):
            raise ValueError("a requirement set names at least one metric")
        return value


class LifetimeTierSpec(Strict):
    at: Threshold
    tier: TierCode


class LifetimeSpec(Strict):
    metric: MetricCode
    tiers: list[LifetimeTierSpec] = Field(min_length=1)

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, value: list[LifetimeTierSpec]) -> list[LifetimeTierSpec]:
        totals = [t.at for t in value]
        if totals != sorted(set(totals)):
            raise ValueError("lifetime tiers are listed by ascending `at`, each once")
        return value


class ValidUntilSpec(Strict):
    month: Annotated[int, Field(ge=1, le=12)]
    years_after: Annotated[int, Field(ge=0, le=5)]


class QualificationSpec(Strict):
    period: Literal["calendar_year", "year_from_month", "rolling_12_months"]
    start_month: Annotated[int, Field(ge=1, le=12)] | None = None
    valid_until: ValidUntilSpec | None = None
    soft_landing: NonNegative = 0
    lifetime: LifetimeSpec | None = None

    @model_validator(mode="after")
    def _period_keys(self) -> QualificationSpec:
        if self.period == "year_from_month" and self.start_month is None:
            raise ValueError("period year_from_month needs start_month")
        if self.period != "year_from_month" and self.start_month is not None:
            raise ValueError("start_month only goes with period year_from_month")
        if self.period == "rolling_12_months" and self.valid_until is not None:
            raise ValueError("a rolling period's tier is valid to the end of its period: no valid_until")
        if self.period != "rolling_12_months" and self.valid_until is None:
            raise ValueError(f"period {self.period} needs valid_until: {{month, years_after}}")
        return self


class ClassSpec(Strict):
    cabin: Cabin
    earn_percent: Percent
    bonus_percent: Percent = 0
    qualifying_percent: Percent | None = None


class DistanceEarningSpec(Strict):
    tier_bonus: Literal["none", "base", "distance"] = "none"
    minimum_miles: NonNegative = 0
    minimum_from_tier: TierCode | None = None
    minimum_distance: NonNegative = 0


class EarningSpec(Strict):
    revenue: dict[TierCode, Rate] | None = None
    distance: DistanceEarningSpec | None = None
    cap_per_ticket: Miles | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> EarningSpec:
        if (self.revenue is None) == (self.distance is None):
            raise ValueError("earning is exactly one of `revenue` or `distance`")
        if self.cap_per_ticket is not None and self.revenue is None:
            raise ValueError("cap_per_ticket only goes with revenue earning")
        return self


class BandSpec(Strict):
    from_miles: NonNegative
    to_miles: NonNegative | None = None
    economy: NonNegative | None = None
    premium_economy: NonNegative | None = None
    business: NonNegative | None = None
    first: NonNegative | None = None
    bag: NonNegative | None = None

    def values(self) -> dict[str, int]:
        return {k: v for k, v in self.model_dump(exclude={"from_miles", "to_miles"}).items() if v is not None}


class BandTableSpec(Strict):
    domestic: dict[Cabin, NonNegative] | None = None
    table: list[BandSpec] = Field(min_length=1)


class CreditSpec(Strict):
    distance: Literal["earn", "earn_and_bonus", "qualifying"] | None = None
    minimum_distance: NonNegative = 0
    bands: BandTableSpec | None = None
    per_segment: Annotated[int, Field(ge=1, le=10)] | None = None
    fare: Literal[True] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> CreditSpec:
        kinds = [k for k in ("distance", "bands", "per_segment", "fare") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a credit is exactly one of `distance`, `bands`, `per_segment` or `fare`")
        if self.minimum_distance and self.distance is None:
            raise ValueError("minimum_distance only goes with a `distance` credit")
        return self


class CarrierSpec(Strict):
    name: str = Field(min_length=1, max_length=80)
    classes: dict[ClassCode, ClassSpec] = Field(min_length=1)
    earning: EarningSpec
    credits: dict[MetricCode, CreditSpec] = Field(default_factory=dict)


class PromotionSpec(Strict):
    code: str = Field(min_length=1, max_length=40)
    carriers: list[CarrierCode] = Field(min_length=1)
    from_date: date
    to_date: date
    bonus_percent: Percent = 0
    fixed_miles: NonNegative = 0
    origins: list[Airport] = Field(default_factory=list)
    destinations: list[Airport] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates_in_order(self) -> PromotionSpec:
        if self.to_date < self.from_date:
            raise ValueError("to_date is before from_date")
        return self


Activity = Literal["flight", "redemption", "goodwill"]


class ExpirySpec(Strict):
    policy: Literal["lots", "inactivity", "never"]
    months: Annotated[int, Field(gt=0, le=600)] | None = None
    warning_days: NonNegative = 30
    # inactivity: what keeps a member's miles alive (a flown coupon always does)
    activities: list[Activity] | None = None

    @model_validator(mode="after")
    def _months(self) -> ExpirySpec:
        if self.policy == "never" and self.months is not None:
            raise ValueError("policy never takes no months")
        if self.policy != "never" and self.months is None:
            raise ValueError(f"policy {self.policy} needs months")
        if self.activities is not None:
            if self.policy != "inactivity":
                raise ValueError("activities only go with policy inactivity")
            if "flight" not in self.activities:
                raise ValueError("a flown coupon is always an activity: list flight")
        return self


ZoneCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,11}$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class ZonePriceSpec(Strict):
    """The prices of a flight between two zones, in either direction."""

    between: list[ZoneCode] = Field(min_length=2, max_length=2)
    economy: NonNegative | None = None
    premium_economy: NonNegative | None = None
    business: NonNegative | None = None
    first: NonNegative | None = None
    bag: NonNegative | None = None

    def values(self) -> dict[str, int]:
        return {k: v for k, v in self.model_dump(exclude={"between"}).items() if v is not None}


class AwardsSpec(Strict):
    cabins: list[Cabin] | None = None
    bands: list[BandSpec] = Field(min_length=1)
    # optional: prices by zone pair (zones of countries); a route between two zones with a price here
    # costs that, any other route its distance band's price
    zones: dict[ZoneCode, list[Country]] | None = None
    zone_prices: list[ZonePriceSpec] = Field(default_factory=list)
    standard_multiplier: Annotated[Decimal, Field(ge=1, le=10, decimal_places=2)]
    hotel_night_by_category: dict[Annotated[int, Field(ge=1, le=9)], Miles] | None = None
    cancel_fee_miles: NonNegative
    cancel_cutoff_hours: NonNegative
    booking_horizon_days: Annotated[int, Field(gt=0, le=3660)] = 355

    @model_validator(mode="after")
    def _priced(self) -> AwardsSpec:
        priced = [
            c for c in ("economy", "premium_economy", "business", "first") if self.bands[0].values().get(c)
        ]
        cabins = self.cabins or priced
        if not cabins:
            raise ValueError("the awards sell at least one cabin")
        for i, band in enumerate(self.bands):
            missing = [c for c in cabins if not band.values().get(c)]
            if missing:
                raise ValueError(f"band {i} has no price for {', '.join(missing)}")
        if len({"bag" in b.values() for b in self.bands}) > 1:
            raise ValueError("`bag` is priced in every band or in none")
        return self


class ClaimsSpec(Strict):
    min_days: NonNegative
    max_months: Annotated[int, Field(gt=0, le=120)]
    agent_limit: NonNegative | None = None


PartnerCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,11}$")]
ActivityKind = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")]
Multiplier = Annotated[Decimal, Field(gt=0, le=100, max_digits=8, decimal_places=4)]
Money = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]


class PartnerEarningSpec(Strict):
    """How one kind of partner activity earns: the sum of the parts it names."""

    per_night: Miles | None = None  # miles per night (hotel stays)
    per_day: Miles | None = None  # miles per rental day
    per_unit: Multiplier | None = None  # miles per unit of spend (accounting currency), rounded down
    categories: dict[ActivityKind, Multiplier] = Field(default_factory=dict)  # spend multipliers
    fixed: Miles | None = None  # miles per activity
    amount_ceiling: Money = Decimal("100000")  # the largest spend one activity carries (accounting currency)
    credits: dict[MetricCode, Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]] = Field(
        default_factory=dict
    )  # qualifying credit per activity

    @model_validator(mode="after")
    def _earns(self) -> PartnerEarningSpec:
        if not any(v is not None for v in (self.per_night, self.per_day, self.per_unit, self.fixed)):
            raise ValueError("an activity earns by at least one of per_night, per_day, per_unit, fixed")
        if self.categories and self.per_unit is None:
            raise ValueError("categories multiply spend: they go with per_unit")
        return self


class PartnerSpec(Strict):
    name: str = Field(min_length=1, max_length=80)
    kind: Literal["hotel", "car_rental", "credit_card", "retail", "other"]
    activities: dict[ActivityKind, PartnerEarningSpec] = Field(min_length=1)  # the first is the default
    pending_days: Annotated[int, Field(ge=0, le=365)] = 0
    price_per_mile: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=6)]
    price_currency: Currency | None = None  # default: the accounting currency
    timezone: str | None = None  # the partner's local dates; default: the programme's
    # the most miles the partner may credit one member for one day's activity (by activity_date)
    member_daily_limit: Annotated[int, Field(gt=0, le=100_000_000)] = 250_000

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else known_zone(value)


class FinanceSpec(Strict):
    """What finance closes the month with (docs/finance.md)."""

    value_per_mile: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=6)] = Decimal("0.01")
    breakage_override: Annotated[Decimal, Field(ge=0, le=1, max_digits=7, decimal_places=6)] | None = None
    breakage_maturity_months: Annotated[int, Field(ge=1, le=600)] = 36


class VersionSpec(Strict):
    effective_from: date
    timezone: str = "UTC"
    currency: Currency
    rates: dict[Currency, Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=8)]] = Field(
        min_length=1
    )
    metrics: list[MetricSpec] = Field(min_length=1)
    tiers: list[TierSpec] = Field(min_length=1)
    qualification: QualificationSpec
    classes: Any = None  # a place for YAML anchors
    carriers: dict[CarrierCode, CarrierSpec] = Field(min_length=1)
    promotions: list[PromotionSpec] = Field(default_factory=list)
    expiry: ExpirySpec
    awards: AwardsSpec
    goodwill_agent_limit: NonNegative
    goodwill_member_daily_limit: NonNegative = 10_000
    fare_ceiling: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)] = Decimal("50000")
    promotion_ceiling_miles: Annotated[int, Field(gt=0, le=10_000_000)] = 100_000
    promotion_ceiling_metric: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)] = Decimal(
        "10000"
    )
    claims: ClaimsSpec
    partners: dict[PartnerCode, PartnerSpec] = Field(default_factory=dict)
    finance: FinanceSpec = Field(default_factory=FinanceSpec)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)


def known_zone(value: str) -> str:
    if value != "UTC" and value not in available_timezones():
        raise ValueError(f"unknown time zone {value!r}")
    return value


class ProgrammeFile(Strict):
    format: Literal[2]
    programme: str = Field(min_length=1, max_length=80)
    versions: list[VersionSpec] = Field(min_length=1)
