"""What use cases return: plain values the entry points map to their own shapes."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from miles.adapters.db.accruals import AccrualRecord
from miles.domain.accrual import FlightEarning


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


_GIVEN = {"accrual_id", "member_number", "tier_after", "balance_after"}
EARNED_FIELDS = tuple(f.name for f in fields(AccrualView) if f.name not in _GIVEN)  # what earning computed


def view_of_accrual(
    accrual_id: int,
    member_number: str,
    earned: FlightEarning | AccrualRecord,
    tier_after: str,
    balance_after: int,
) -> AccrualView:
    """The accrual's view: the earned figures read by name from a fresh earning or a stored accrual."""
    figures: dict[str, int] = {name: getattr(earned, name) for name in EARNED_FIELDS}
    return AccrualView(
        accrual_id=accrual_id,
        member_number=member_number,
        tier_after=tier_after,
        balance_after=balance_after,
        **figures,
    )


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
