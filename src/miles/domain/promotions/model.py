"""A promotion as plain values: when it runs, who it is for, which coupons earn it, what it gives and
how much of it there is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Trigger(StrEnum):
    FLIGHT = "flight"  # each earning coupon that qualifies
    CHALLENGE = "challenge"  # the coupon that completes each run of N qualifying earning segments
    BIRTHDAY = "birthday"  # granted by the nightly run on the member's birthday, once a year
    ENROLMENT = "enrolment"  # the member's first earning coupon within N days of enrolment
    PARTNER = "partner"  # each partner activity that qualifies, when its miles post


class EffectKind(StrEnum):
    MULTIPLIER = "multiplier"  # floor(base x (value - 1)); a partner activity's base is its miles
    PERCENT = "percent"  # floor(base x value / 100)
    FIXED = "fixed"  # `miles` per qualifying coupon, activity or grant
    METRIC = "metric"  # `amount` of a qualifying metric, no miles


@dataclass(frozen=True)
class Audience:
    """Who may earn it, judged when the coupon is posted. Empty and None mean anyone."""

    tiers: frozenset[str] = frozenset()
    inactive_for_months: int | None = None  # no activity for that long before this coupon
    enrolled_within_days: int | None = None  # enrolled at most that many days before the coupon


@dataclass(frozen=True)
class Conditions:
    """Which coupons earn it. Empty and None mean any."""

    carriers: frozenset[str] = frozenset()
    routes: frozenset[tuple[str, str]] = frozenset()  # (origin, destination), directional
    origins: frozenset[str] = frozenset()
    destinations: frozenset[str] = frozenset()
    cabins: frozenset[str] = frozenset()
    booking_classes: frozenset[str] = frozenset()
    min_distance: int | None = None
    partners: frozenset[str] = frozenset()  # partner trigger: the partners whose activities earn it
    activity_kinds: frozenset[str] = frozenset()  # partner trigger: the activity kinds that earn it

    @property
    def any_partner_condition(self) -> bool:
        return bool(self.partners or self.activity_kinds)

    @property
    def any_flight_condition(self) -> bool:
        return bool(
            self.carriers
            or self.routes
            or self.origins
            or self.destinations
            or self.cabins
            or self.booking_classes
            or self.min_distance is not None
        )


@dataclass(frozen=True)
class Effect:
    kind: EffectKind
    value: Decimal | None = None  # MULTIPLIER (> 1), PERCENT (> 0)
    miles: int | None = None  # FIXED
    metric: str | None = None  # METRIC: the qualifying metric's code
    amount: Decimal | None = None  # METRIC

    def miles_for(self, base_miles: int) -> int:
        """The promotion miles before limits, on a coupon of `base_miles` (a grant: base 0)."""
        if self.kind is EffectKind.MULTIPLIER:
            assert self.value is not None
            return int(base_miles * (self.value - 1))  # floor: both are >= 0
        if self.kind is EffectKind.PERCENT:
            assert self.value is not None
            return int(base_miles * self.value / 100)
        if self.kind is EffectKind.FIXED:
            return self.miles or 0
        return 0


@dataclass(frozen=True)
class Limits:
    per_member_miles: int | None = None
    per_member_times: int | None = None
    budget_miles: int | None = None


@dataclass(frozen=True)
class Challenge:
    segments: int  # a run is this many qualifying earning segments
    repeat: bool = False  # a punch card: every completed run earns the bonus


@dataclass(frozen=True)
class Promotion:
    id: int
    code: str
    name: str
    trigger: Trigger
    starts_on: date
    ends_on: date  # inclusive
    effect: Effect
    audience: Audience = field(default_factory=Audience)
    conditions: Conditions = field(default_factory=Conditions)
    limits: Limits = field(default_factory=Limits)
    stacking_group: str | None = None  # None: stacks with everything
    registration_required: bool = False
    challenge: Challenge | None = None
    ended_at: datetime | None = None  # ended early: nothing posted from then on earns it

    def runs_at(self, posted_at: datetime) -> bool:
        return self.ended_at is None or posted_at < self.ended_at

    def in_window(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    @property
    def group(self) -> str:
        """The stacking group; a promotion without one is a group of its own."""
        return self.stacking_group if self.stacking_group is not None else f"#{self.id}"

    @property
    def rank(self) -> tuple[date, int]:
        """Ties in a stacking group go to the earlier start, then the smaller id."""
        return (self.starts_on, self.id)
