"""One version of a programme's rules, as plain values. miles.programme's loader builds it from a file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from miles.domain.partners.contracts import PartnerContract
from miles.domain.programme.bands import BandTable
from miles.domain.programme.carriers import CarrierRule
from miles.domain.programme.qualification import QualificationRules
from miles.domain.programme.tiers import Perk, TierLadder


@dataclass(frozen=True)
class MetricDef:
    code: str
    name: str
    money: bool = False  # an amount in the accounting currency (cents kept), else a whole number


class ExpiryKind(StrEnum):
    LOTS = "lots"  # each lot expires at the end of the N-th month after the month it was earned
    INACTIVITY = "inactivity"  # every mile expires after N months without activity
    NEVER = "never"


# what may keep miles alive under `inactivity`, and the transfer each one is
ACTIVITIES = {"flight": "flight_accrual", "redemption": "redemption", "goodwill": "goodwill"}
DEFAULT_ACTIVITIES = ("flight", "redemption")
ALWAYS_ACTIVE = ("partner_accrual",)  # partner miles always keep a member's miles alive


@dataclass(frozen=True)
class ExpiryPolicy:
    kind: ExpiryKind
    months: int = 0  # 0 with `never`
    warning_days: int = 30
    exempt_tiers: frozenset[str] = frozenset()  # tier codes with the perk miles_never_expire
    activities: frozenset[str] = frozenset(DEFAULT_ACTIVITIES)  # inactivity: what keeps miles alive

    @property
    def activity_codes(self) -> list[str]:
        """The transfer codes of the activities (partner miles always among them), sorted."""
        return sorted({*(ACTIVITIES[a] for a in self.activities), *ALWAYS_ACTIVE})


@dataclass(frozen=True)
class Promotion:
    """A route bonus of an older rules file. It earns nothing: promotions are campaigns in the database
    (miles.domain.promotions); migration 0013 moved these, and `miles programme load` refuses a file that
    still lists one."""

    code: str
    carriers: frozenset[str]
    from_date: date
    to_date: date
    bonus_percent: int = 0
    fixed_miles: int = 0
    origins: frozenset[str] = frozenset()
    destinations: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AwardRules:
    cabins: tuple[str, ...]  # the cabins the programme sells, in the file's order
    bands: BandTable  # flight prices by cabin (and "bag" where bags are offered), per segment
    standard_multiplier: Decimal  # a standard (not saver) seat costs this times the saver price
    hotel_night_by_category: Mapping[int, int] | None  # None: no hotel awards
    cancel_fee_miles: int
    cancel_fee_waived_tiers: frozenset[str]
    cancel_cutoff_hours: int
    booking_horizon_days: int = 355
    zones: Mapping[str, str] = field(default_factory=dict)  # country -> zone
    zone_prices: Mapping[frozenset[str], Mapping[str, int]] = field(
        default_factory=dict
    )  # zone pair -> prices

    @property
    def bags(self) -> bool:
        return all("bag" in band.values for band in self.bands.bands)

    def prices(
        self, origin_country: str | None, destination_country: str | None, distance: int
    ) -> Mapping[str, int]:
        """A route's prices: its zone pair's, when the programme prices that pair, else its distance band's."""
        a, b = self.zones.get(origin_country or ""), self.zones.get(destination_country or "")
        if a is not None and b is not None:
            priced = self.zone_prices.get(frozenset((a, b)))
            if priced is not None:
                return priced
        return self.bands.band(distance).values


@dataclass(frozen=True)
class FinanceRules:
    """What finance needs from the rules file (docs/finance.md): the revenue deferred per mile issued and
    how breakage is estimated."""

    value_per_mile: Decimal = Decimal("0.01")  # deferred revenue per mile issued, in the accounting currency
    breakage_override: Decimal | None = None  # a fixed breakage rate (0..1) instead of the estimate
    breakage_maturity_months: int = 36  # a cohort this many months past its earn month is old enough to tell


@dataclass(frozen=True)
class Programme:
    name: str
    effective_from: date
    timezone: str
    currency: str  # the accounting currency
    rates: Mapping[str, Decimal]  # the accounting currency's value of one unit of each currency
    metrics: tuple[MetricDef, ...]  # in the file's order, which is their stored order
    ladder: TierLadder
    qualification: QualificationRules
    carriers: Mapping[str, CarrierRule]
    expiry: ExpiryPolicy
    awards: AwardRules
    goodwill_agent_limit: int
    claim_min_days: int
    claim_max_months: int  # also the accrual window: older coupons earn on no path
    promotions: tuple[Promotion, ...] = ()
    goodwill_member_daily_limit: int = 10_000
    fare_ceiling: Decimal = Decimal("50000")  # in the accounting currency
    promotion_ceiling_miles: int = 100_000  # the most miles one promotion gives on one coupon or grant
    promotion_ceiling_metric: Decimal = Decimal(10_000)  # the most of a qualifying metric one bonus gives
    claim_agent_limit: int | None = None  # None: goodwill_agent_limit
    partners: Mapping[str, PartnerContract] = field(default_factory=dict)
    finance: FinanceRules = field(default_factory=FinanceRules)

    @property
    def claim_approval_above(self) -> int:
        """A claim earning more award miles than this waits for a supervisor."""
        return self.goodwill_agent_limit if self.claim_agent_limit is None else self.claim_agent_limit

    @cached_property
    def metric_codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.metrics)

    def metric(self, code: str) -> MetricDef | None:
        for metric in self.metrics:
            if metric.code == code:
                return metric
        return None

    def perk(self, tier: str, perk: Perk) -> bool:
        return perk in self.ladder.get(tier).perks
