"""The views of an accrual: a fresh earning, or a recorded accrual read back (a replay)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from miles.adapters.db.accruals import AccrualRecord
from miles.adapters.db.standing import metric_mapping
from miles.domain.programme.earning import FlightEarning
from miles.domain.programme.model import Programme
from miles.programme.reading import ProgrammeBook
from miles.services.ledger_views import (
    SEGMENTS,
    STATUS_MILES,
    AccrualView,
    MetricValue,
    PromotionMiles,
    metric_values,
    whole,
)


def accrual_view(
    book: ProgrammeBook, record: AccrualRecord, promotions: Sequence[PromotionMiles] = ()
) -> AccrualView:
    """A recorded accrual's view (its credits read in the stored metric order: the newest version's)."""
    latest = book.versions[-1]  # its metrics are the stored order
    return AccrualView(
        accrual_id=record.id,
        member_number=record.member_number,
        distance_miles=record.distance_miles,
        base_miles=record.base_miles,
        tier_bonus_miles=record.tier_bonus_miles,
        promotion_miles=record.promotion_miles,
        award_miles=record.award_miles,
        **_qualifying(metric_values(latest, metric_mapping(book.metric_codes, record.credits))),
        tier_after=record.tier_after,
        balance_after=record.balance_after,
        promotions=list(promotions),
    )


def _qualifying(metrics: dict[str, MetricValue]) -> dict[str, Any]:
    return {
        "qualifying": metrics,
        "status_miles": whole(metrics, STATUS_MILES),
        "segments": whole(metrics, SEGMENTS),
    }


def earned_view(
    programme: Programme,
    accrual_id: int,
    member_number: str,
    e: FlightEarning,
    balance_after: int,
    promotions: Sequence[PromotionMiles] = (),
) -> AccrualView:
    return AccrualView(
        accrual_id=accrual_id,
        member_number=member_number,
        distance_miles=e.distance_miles,
        base_miles=e.base_miles,
        tier_bonus_miles=e.tier_bonus_miles,
        promotion_miles=e.promotion_miles,
        award_miles=e.award_miles,
        **_qualifying(metric_values(programme, e.credits)),
        tier_after=e.tier_after,
        balance_after=balance_after,
        promotions=list(promotions),
    )
