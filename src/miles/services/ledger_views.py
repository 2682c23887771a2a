"""What use cases return: plain values the entry points map to their own shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from miles.domain.programme.model import Programme

# the qualifying metrics the API names on its own (0 where the programme has no metric of that code)
STATUS_MILES, SEGMENTS = "status_miles", "segments"
MetricValue = int | Decimal  # a whole number, or an amount in the accounting currency


def metric_values(programme: Programme, metrics: Mapping[str, Decimal]) -> dict[str, MetricValue]:
    """Metric values as the answers give them: whole numbers as int, money as Decimal (cents)."""
    out: dict[str, MetricValue] = {}
    for metric in programme.metrics:
        value = metrics.get(metric.code, Decimal(0))
        out[metric.code] = value.quantize(Decimal("0.01")) if metric.money else int(value)
    return out


def whole(metrics: Mapping[str, MetricValue], code: str) -> int:
    value = metrics.get(code, 0)
    return int(value)


@dataclass(frozen=True)
class QualifyingView:
    period_start: date
    period_end: date
    metrics: dict[str, MetricValue]
    status_miles: int  # the metrics of these codes, for clients of the first API (0: no such metric)
    segments: int


def qualifying_view(period_start: date, period_end: date, metrics: dict[str, MetricValue]) -> QualifyingView:
    return QualifyingView(
        period_start, period_end, metrics, whole(metrics, STATUS_MILES), whole(metrics, SEGMENTS)
    )


@dataclass(frozen=True)
class MemberView:
    member_number: str
    given_name: str
    family_name: str
    email: str
    birth_date: date | None
    tier: str
    tier_valid_until: date | None
    lifetime_tier: str
    award_miles: int
    pending_miles: int
    available_miles: int
    lifetime_status_miles: int  # the lifetime total when the lifetime metric is status miles, else 0
    qualifying: QualifyingView
    created_at: datetime
    partner_pending_miles: int = 0  # partner miles not posted yet: neither in the balance nor spendable


@dataclass(frozen=True)
class PromotionMiles:
    """A promotion an accrual earned, and its miles (0 for a qualifying-metric bonus)."""

    code: str
    miles: int


@dataclass(frozen=True)
class AccrualView:
    accrual_id: int
    member_number: str
    distance_miles: int
    base_miles: int
    tier_bonus_miles: int
    promotion_miles: int
    award_miles: int
    status_miles: int
    segments: int
    qualifying: dict[str, MetricValue]
    tier_after: str
    balance_after: int
    promotions: list[PromotionMiles] = field(default_factory=list)


@dataclass(frozen=True)
class ReversalView:
    reversal_id: int
    accrual_id: int
    member_number: str
    reason: str
    reversed_award_miles: int
    reversed_status_miles: int
    balance_after: int
    reversed_at: datetime


@dataclass(frozen=True)
class StatementLine:
    transfer_id: int
    code: str
    description: str
    miles: int  # signed, from the member's side
    counterparty: str
    event_at: datetime
    created_at: datetime
    accrual_id: int | None
    promotion: str | None = None  # the promotion's code, on a bonus line
    partner: str | None = None  # the partner's code, on a partner line


@dataclass(frozen=True)
class StatementPage:
    member_number: str
    lines: list[StatementLine]
    next_cursor: str | None
