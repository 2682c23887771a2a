"""What the redemption use cases return: plain values the entry points turn into their own shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from miles.adapters.db.redemptions import HistoryRecord, RedemptionRecord, item_detail


@dataclass(frozen=True)
class PricedItemView:
    kind: str
    miles: int
    fare: str | None  # flights: "saver" | "standard"


@dataclass(frozen=True)
class QuoteView:
    member_number: str
    miles: int
    available_miles: int
    items: list[PricedItemView]


@dataclass(frozen=True)
class AcceptedView:
    """The answer to a redemption request: held, booking under way."""

    redemption_id: int
    status: str
    miles: int
    items: list[PricedItemView]


@dataclass(frozen=True)
class ItemView:
    kind: str
    miles: int
    fare: str | None
    detail: dict[str, Any]  # the item as requested
    booking_reference: str | None


@dataclass(frozen=True)
class HistoryView:
    status: str
    at: datetime
    reason: str | None


@dataclass(frozen=True)
class RedemptionView:
    redemption_id: int
    member_number: str
    status: str
    miles: int
    items: list[ItemView]
    history: list[HistoryView]
    created_at: datetime
    failure_reason: str | None
    refunded_miles: int | None
    fee_miles: int | None


@dataclass(frozen=True)
class CancellationView:
    status: str
    refunded_miles: int
    fee_miles: int


def redemption_view(record: RedemptionRecord, history: list[HistoryRecord]) -> RedemptionView:
    return RedemptionView(
        redemption_id=record.id,
        member_number=record.member_number,
        status=record.status,
        miles=record.miles,
        items=[
            ItemView(
                kind=i.item.kind,
                miles=i.miles,
                fare=i.fare.value if i.fare else None,
                detail=item_detail(i.item),
                booking_reference=i.booking_reference,
            )
            for i in record.items
        ],
        history=[HistoryView(h.status, h.at, h.reason) for h in history],
        created_at=record.created_at,
        failure_reason=record.failure_reason,
        refunded_miles=record.refunded_miles,
        fee_miles=record.fee_miles,
    )


def cancellation_view(record: RedemptionRecord) -> CancellationView:
    assert record.refunded_miles is not None
    assert record.fee_miles is not None
    return CancellationView(record.status, record.refunded_miles, record.fee_miles)
