"""Awards at the agents' desk, over the redemption use cases: booking with an audit entry in the same
transaction as the hold (and a form key, so a double submission books once), the cancellation terms
shown before the agent confirms (the fee, or why it is too late), and the member's recent awards. A
cancellation is the redemption use case itself (`cancel_award`), which audits it with its refund."""

from __future__ import annotations

from dataclasses import dataclass

from miles.adapters.db.redemptions import CONFIRMED
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.agents import Actor
from miles.domain.awards import (
    AwardItem,
    BaggageAward,
    HotelAward,
    cabins,
    cancellation_fee,
    check_can_cancel,
)
from miles.domain.errors import InvalidInput
from miles.services import audit
from miles.services.clock import Clock
from miles.services.idempotency import Outcome, keyed_request, once, replayed
from miles.services.members import find_member
from miles.services.programmes import ProgrammeCatalog
from miles.services.redemptions.redemption_views import AcceptedView, RedemptionView
from miles.services.redemptions.saga_runtime import SagaRuntime
from miles.services.redemptions.submission import (
    AwardRequest,
    PricedAward,
    place_redemption,
    price_request,
    redemption_of,
)
from miles.services.runtime import Runtime

OPERATION = "redemption.create"
RECENT = 10


def describe_item(item: AwardItem) -> str:
    if isinstance(item, HotelAward):
        return f"hotel {item.city} category {item.hotel_category}, {item.nights} night(s) from {item.check_in_date}"
    if isinstance(item, BaggageAward):
        return f"{item.pieces} extra bag(s) {item.origin}-{item.destination} {item.departure_date}"
    return f"{item.cabin} {item.origin}-{item.destination} {item.departure_date}"


def booking_digest(request: AwardRequest) -> list[object]:
    """What identifies a booking form's request, for its key."""
    return [request.member_number, [describe_item(i) for i in request.items]]


def desk_owner(actor: Actor) -> str:
    """Whose idempotency keys a console request's are: the agent's."""
    return f"agent:{actor.agent_id}" if actor.agent_id is not None else f"actor:{actor.name}"


def book_award(
    runtime: SagaRuntime, actor: Actor, request: AwardRequest, request_key: str | None
) -> Outcome[AcceptedView]:
    """Price the award (the suppliers, outside any transaction), then hold its miles, queue the booking
    and audit it in one transaction; once per form key (a double submission books once)."""
    key = keyed_request(desk_owner(actor), OPERATION, request_key, booking_digest(request))
    with runtime.uow() as uow:
        earlier = replayed(uow, key, AcceptedView)
    if earlier is not None:
        return earlier
    priced = price_request(runtime, request)
    with runtime.uow() as uow:
        return once(uow, key, AcceptedView, lambda: _book(uow, runtime, actor, priced))


def _book(uow: UnitOfWork, runtime: SagaRuntime, actor: Actor, priced: PricedAward) -> AcceptedView:
    accepted = place_redemption(uow, runtime.clock, runtime.hold_timing, priced)
    member = find_member(uow, priced.member_number)
    audit.record(
        uow,
        runtime.clock,
        actor,
        "redemption.booked",
        member_id=member.id,
        subject=f"redemption:{accepted.redemption_id}",
        reason="; ".join(describe_item(p.item) for p in priced.price.items),
        details={"miles": accepted.miles, "redemption_id": accepted.redemption_id},
    )
    return accepted


@dataclass(frozen=True)
class CancellationTerms:
    redemption: RedemptionView
    fee_miles: int
    refund_miles: int  # what comes back to the member
    refusal: str | None  # why it cannot be cancelled now


def cancellation_terms(runtime: Runtime, redemption_id: int) -> CancellationTerms:
    """What a cancellation would give back, shown to the agent before they confirm."""
    with runtime.uow() as uow:
        view = redemption_of(uow, redemption_id)
        record = uow.redemptions.get(redemption_id)
        assert record is not None
        now = runtime.clock.now()
        programme = runtime.catalog.current(uow).in_force(now.date())
        member = find_member(uow, view.member_number)
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


def member_redemptions(uow: UnitOfWork, member_id: int, limit: int = RECENT) -> list[RedemptionView]:
    return [redemption_of(uow, rid) for rid in uow.member_search.redemption_ids(member_id, limit)]


@dataclass(frozen=True)
class AwardChoices:
    """What the award form offers under the programme in force: its cabins and hotel categories."""

    cabins: tuple[str, ...]
    hotel_categories: tuple[int, ...]  # none: the programme offers no hotel awards
    bags: bool  # extra bags are offered


def award_choices(runtime: Runtime) -> AwardChoices:
    """What the award form offers now: the cabins and hotel categories of the programme in force."""
    with runtime.uow() as uow:
        return choices_in_force(uow, runtime.catalog, runtime.clock)


def choices_in_force(uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock) -> AwardChoices:
    """The award form's choices, read in the caller's transaction (a step)."""
    awards = catalog.current(uow).in_force(clock.now().date()).awards
    return AwardChoices(cabins(awards), tuple(sorted(awards.hotel_night_by_category or {})), awards.bags)
