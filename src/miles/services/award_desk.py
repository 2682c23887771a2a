"""Awards at the agents' desk, over the redemption use cases: booking with an audit entry in the same
transaction as the hold (and a form key, so a double submission books once), the cancellation terms
shown before the agent confirms (the fee, or why it is too late), the audit entry of a cancellation, and
the member's recent awards. Nothing here opens a transaction: the console runs each step in its own,
with the suppliers asked (price_request, cancel_redemption) outside any."""

from __future__ import annotations

from dataclasses import dataclass

from miles.adapters.db.redemptions import CONFIRMED
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.agents import Actor
from miles.domain.awards import AwardItem, BaggageAward, HotelAward, cancellation_fee, check_can_cancel
from miles.domain.errors import Conflict, InvalidInput
from miles.services import audit
from miles.services.clock import Clock
from miles.services.digest import request_digest
from miles.services.members import find_member
from miles.services.programmes import ProgrammeCatalog
from miles.services.redemptions.redemption_views import CancellationView, RedemptionView
from miles.services.redemptions.saga_runtime import HoldTiming
from miles.services.redemptions.submission import AwardRequest, PricedAward, place_redemption, read_redemption

SCOPE = "console-redemptions"
RECENT = 10


def describe_item(item: AwardItem) -> str:
    if isinstance(item, HotelAward):
        return f"hotel {item.city} category {item.hotel_category}, {item.nights} night(s) from {item.check_in_date}"
    if isinstance(item, BaggageAward):
        return f"{item.pieces} extra bag(s) {item.origin}-{item.destination} {item.departure_date}"
    return f"{item.cabin} {item.origin}-{item.destination} {item.departure_date}"


def booking_digest(request: AwardRequest) -> str:
    return request_digest([request.member_number, [describe_item(i) for i in request.items]])


def _replayed(stored_digest: str, digest: str, response: dict[str, object]) -> int:
    if stored_digest != digest:
        raise Conflict(
            "this form was already used for another award: reload it", code="idempotency_key_reused"
        )
    return int(str(response["redemption_id"]))


def earlier_booking(uow: UnitOfWork, request_key: str | None, digest: str) -> int | None:
    """The redemption this form already booked, if it was submitted before."""
    stored = uow.idempotency.find(SCOPE, request_key) if request_key else None
    return None if stored is None else _replayed(stored.request_digest, digest, stored.response)


def record_booking(
    uow: UnitOfWork,
    clock: Clock,
    timing: HoldTiming,
    actor: Actor,
    priced: PricedAward,
    request_key: str | None,
    digest: str,
) -> int:
    """Hold the miles and queue the booking (the redemption use case), audited in the same transaction;
    the redemption's id (the earlier one when the form key was used meanwhile)."""
    if request_key:
        stored = uow.idempotency.claim(SCOPE, request_key, digest)
        if stored is not None:
            return _replayed(stored.request_digest, digest, stored.response)
    accepted = place_redemption(uow, clock, timing, priced)
    member = find_member(uow, priced.member_number, 0)
    audit.record(
        uow,
        clock,
        actor,
        "redemption.booked",
        member_id=member.id,
        subject=f"redemption:{accepted.redemption_id}",
        reason="; ".join(describe_item(p.item) for p in priced.price.items),
        details={"miles": accepted.miles, "redemption_id": accepted.redemption_id},
    )
    if request_key:
        uow.idempotency.store(SCOPE, request_key, 202, {"redemption_id": accepted.redemption_id})
    return accepted.redemption_id


@dataclass(frozen=True)
class CancellationTerms:
    redemption: RedemptionView
    fee_miles: int
    refund_miles: int  # what comes back to the member
    refusal: str | None  # why it cannot be cancelled now


def cancellation_terms(
    uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock, redemption_id: int
) -> CancellationTerms:
    """What a cancellation would give back, shown to the agent before they confirm."""
    view = read_redemption(uow, redemption_id)
    record = uow.redemptions.get(redemption_id)
    assert record is not None
    now = clock.now()
    programme = catalog.current(uow).in_force(now.date())
    member = find_member(uow, view.member_number, 0)
    fee = cancellation_fee(programme.awards, member.standing.tier, view.miles)
    refusal = None
    if view.status != CONFIRMED:
        refusal = f"this award is {view.status}: only a confirmed award can be cancelled"
    else:
        try:
            check_can_cancel(programme.awards, record.first_service_date, programme.timezone, now)
        except InvalidInput as exc:
            refusal = exc.message
    return CancellationTerms(view, fee, view.miles - fee, refusal)


def record_cancellation(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    before: RedemptionView,
    result: CancellationView,
    reason: str | None,
) -> None:
    """The audit entry of a cancellation the redemption use case has just completed."""
    member = find_member(uow, before.member_number, 0)
    audit.record(
        uow,
        clock,
        actor,
        "redemption.cancelled",
        member_id=member.id,
        subject=f"redemption:{before.redemption_id}",
        reason=(reason or "").strip()[:500] or "cancelled at the member's request",
        details={
            "miles": before.miles,
            "refunded_miles": result.refunded_miles,
            "fee_miles": result.fee_miles,
        },
    )


def member_redemptions(uow: UnitOfWork, member_id: int, limit: int = RECENT) -> list[RedemptionView]:
    return [read_redemption(uow, rid) for rid in uow.member_search.redemption_ids(member_id, limit)]
