"""A partner's contract, as the rules file gives it: what each kind of activity earns, how long its miles
stay pending, and the price the partner pays the programme per mile issued."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class ActivityRule:
    """What one kind of activity earns: the sum of the parts it names (per night, per day, per unit of
    spend in the accounting currency times its category's multiplier, rounded down, and a fixed part)."""

    per_night: int | None = None
    per_day: int | None = None
    per_unit: Decimal | None = None
    categories: Mapping[str, Decimal] = field(default_factory=dict)
    fixed: int | None = None
    amount_ceiling: Decimal = Decimal(100_000)  # in the accounting currency
    credits: Mapping[str, Decimal] = field(default_factory=dict)  # qualifying credit per activity


@dataclass(frozen=True)
class PartnerContract:
    code: str
    name: str
    kind: str  # hotel | car_rental | credit_card | retail | other
    activities: Mapping[str, ActivityRule]  # by activity kind; the first is the default kind
    pending_days: int
    price_per_mile: Decimal
    price_currency: str
    timezone: str
    member_daily_limit: int = 250_000  # miles the partner may credit one member for one day's activity

    @property
    def default_kind(self) -> str:
        return next(iter(self.activities))
