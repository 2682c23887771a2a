"""What use cases return: plain values the entry points map to their own shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class QualifyingView:
    year: int
    status_miles: int
    segments: int
    spend_usd: Decimal


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
    lifetime_status_miles: int
    qualifying: QualifyingView
    created_at: datetime


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
    tier_after: str
    balance_after: int


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


@dataclass(frozen=True)
class StatementPage:
    member_number: str
    lines: list[StatementLine]
    next_cursor: str | None
