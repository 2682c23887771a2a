"""Asking for an award: price it (the quote, which holds nothing), or hold its miles and start the
booking saga (the request), and read a redemption back."""

from __future__ import annotations

from dataclasses import dataclass

from miles.adapters.db.redemptions import PENDING, NewItem
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.awards import AwardItem, AwardPrice, Fare, check_can_pay, price_award, validate_items
from miles.domain.errors import InvalidInput, NotFound, SupplierRefused, SupplierUnavailable
from miles.domain.member_numbers import validate_member_number
from miles.services.clock import Clock, today
from miles.services.idempotency import IdempotencyKey, Outcome, once, replayed
from miles.services.members import find_member
from miles.services.redemptions.redemption_views import (
    AcceptedView,
    PricedItemView,
    QuoteView,
    RedemptionView,
    redemption_view,
)
from miles.services.redemptions.saga_runtime import BOOK, SUPPLIER_UNREACHABLE, HoldTiming, SagaRuntime
from miles.services.runtime import Runtime


@dataclass(frozen=True)
class AwardRequest:
    member_number: str
    items: tuple[AwardItem, ...]


@dataclass(frozen=True)
class PricedAward:
    member_number: str
    price: AwardPrice
    available_miles: int  # when priced; the request checks again under the member's lock


def _items(price: AwardPrice) -> list[PricedItemView]:
    return [PricedItemView(p.item.kind, p.miles, p.fare.value if p.fare else None) for p in price.items]


def price_request(runtime: SagaRuntime, request: AwardRequest) -> PricedAward:
    """Validate the request and price it with the suppliers' current fares. Nothing is held, and no
    transaction stays open while the suppliers answer."""
    validate_member_number(request.member_number)
    with runtime.uow() as uow:
        programme = runtime.catalog.current(uow).in_force(runtime.clock.now().date())
        member = find_member(uow, request.member_number)
    validate_items(programme.awards, request.items, today(runtime.clock, programme.timezone))
    fares: list[Fare | None] = []
    for index, item in enumerate(request.items):
        supplier = runtime.suppliers.for_item(item)
        try:
            fares.append(supplier.quote(item))
        except SupplierRefused as exc:
            raise InvalidInput(
                f"{supplier.name}: {exc.reason}", field=f"items[{index}]", code="not_available"
            ) from exc
        except SUPPLIER_UNREACHABLE as exc:  # no answer: nothing held
            raise SupplierUnavailable(f"{supplier.name} did not answer; nothing was held, try again") from exc
    price = price_award(programme.awards, request.items, fares)
    return PricedAward(request.member_number, price, member.balance - member.pending)


def quote(runtime: SagaRuntime, request: AwardRequest) -> QuoteView:
    priced = price_request(runtime, request)
    return QuoteView(priced.member_number, priced.price.miles, priced.available_miles, _items(priced.price))


def place_redemption(uow: UnitOfWork, clock: Clock, timing: HoldTiming, priced: PricedAward) -> AcceptedView:
    """Hold the miles and record the redemption and its booking job, in the caller's transaction.

    The member's row lock serialises every change to their account, and the balance and holds are read
    after taking it, so two requests can never both spend the same available miles."""
    now = clock.now()
    member = uow.members.lock(priced.member_number)
    if member is None:
        raise NotFound(f"no member {priced.member_number}", field="member_number", code="member_not_found")
    price = priced.price
    check_can_pay(member.balance, member.pending, price.miles)
    items = [NewItem(n, p.item, p.miles, p.fare) for n, p in enumerate(price.items, start=1)]
    redemption_id = uow.redemptions.add(
        member.id, items, price.first_service_date, now, timing.next_attempt_at(now)
    )
    uow.holds.place(member.account_id, redemption_id, price.miles, now, timing.expires_at(now))
    uow.outbox.add(BOOK, {"redemption_id": redemption_id})
    return AcceptedView(redemption_id, PENDING, price.miles, _items(price))


def request_award(runtime: SagaRuntime, request: AwardRequest, key: IdempotencyKey) -> Outcome[AcceptedView]:
    """The redemption request use case: priced outside any transaction (unless `key` already answered),
    then held and queued in one, once per key."""
    with runtime.uow() as uow:
        earlier = replayed(uow, key, AcceptedView)
    if earlier is not None:
        return earlier
    priced = price_request(runtime, request)
    with runtime.uow() as uow:
        return once(
            uow,
            key,
            AcceptedView,
            lambda: place_redemption(uow, runtime.clock, runtime.hold_timing, priced),
        )


def read_redemption(runtime: Runtime, redemption_id: int) -> RedemptionView:
    """A redemption: its state, items and history."""
    with runtime.uow() as uow:
        return redemption_of(uow, redemption_id)


def redemption_of(uow: UnitOfWork, redemption_id: int) -> RedemptionView:
    """A redemption read in the caller's transaction (a step)."""
    record = uow.redemptions.get(redemption_id)
    if record is None:
        raise NotFound(f"no redemption {redemption_id}", code="redemption_not_found")
    return redemption_view(record, uow.redemptions.history(redemption_id))
