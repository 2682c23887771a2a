"""Cancelling a confirmed award: the suppliers first, then the miles back to the very lots they came
from (with their original expiry), less the cancellation fee (none for the tiers that waive it).

A cancellation is recorded (`cancel_requested_at`, and who asked) before the suppliers are asked, so one
interrupted midway (a supplier that does not answer, a process that stops) is finished by the sweeper;
asking again is harmless, suppliers cancel by key. Its audit row is written in the refund's transaction,
by whichever step actually moves the award to CANCELLED: one row per cancellation, however many
requests raced for it.
"""

from __future__ import annotations

import logging

from miles.adapters.db.ledger import Posting
from miles.adapters.db.redemptions import CANCELLED, CONFIRMED, CancelRequester, RedemptionRecord
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.agents import Actor
from miles.domain.awards import cancellation_fee, check_can_cancel
from miles.domain.errors import (
    Conflict,
    InvalidInput,
    MilesError,
    NotFound,
    SupplierRefused,
    SupplierUnavailable,
)
from miles.domain.lots import LotBalance, plan_draws
from miles.services import audit
from miles.services.idempotency import IdempotencyKey, Outcome, once_across
from miles.services.redemptions.redemption_views import CancellationView, cancellation_view
from miles.services.redemptions.saga_runtime import FINISH_CANCEL, SUPPLIER_UNREACHABLE, SagaRuntime, item_key
from miles.services.runtime import job

MAX_REASON = 500
DEFAULT_REASON = "cancelled at the member's request"

log = logging.getLogger("miles.redemptions")


def _not_cancellable(record: RedemptionRecord) -> Conflict:
    return Conflict(
        f"redemption {record.id} is {record.status}: only a confirmed award can be cancelled",
        code="not_cancellable",
    )


def cancel_award(
    runtime: SagaRuntime,
    redemption_id: int,
    actor: Actor,
    reason: str | None = None,
    key: IdempotencyKey | None = None,
) -> Outcome[CancellationView]:
    """The cancellation use case for an entry point: `cancel_redemption` once per idempotency key."""
    return once_across(
        runtime.uow, key, CancellationView, lambda: cancel_redemption(runtime, redemption_id, actor, reason)
    )


def cancel_redemption(
    runtime: SagaRuntime, redemption_id: int, actor: Actor | None = None, reason: str | None = None
) -> CancellationView:
    """Cancel a CONFIRMED award; a CANCELLED one answers with what its cancellation returned. The actor
    (and reason) are audited with the refund when this request is the one that starts the cancellation."""
    reason = (reason or "").strip() or None
    if reason is not None and (
        len(reason) > MAX_REASON or not all(c.isprintable() or c in "\n\t" for c in reason)
    ):
        raise InvalidInput(
            f"a reason is at most {MAX_REASON} characters, without control characters", field="reason"
        )
    requester = None if actor is None else CancelRequester(actor.name, actor.agent_id, reason)
    now = runtime.clock.now()
    with runtime.uow() as uow:
        programme = runtime.catalog.current(uow).in_force(now.date())
        record = uow.redemptions.lock(redemption_id)
        if record is None:
            raise NotFound(f"no redemption {redemption_id}", code="redemption_not_found")
        if record.status == CANCELLED:
            return cancellation_view(record)
        if record.status != CONFIRMED:
            raise _not_cancellable(record)
        if record.cancel_requested_at is None:
            check_can_cancel(programme.awards, record.first_service_date, programme.timezone, now)
            uow.redemptions.request_cancel(
                record.id, now, runtime.hold_timing.next_attempt_at(now), requester
            )
    return finish_cancellation(runtime, redemption_id)


def finish_cancellation(runtime: SagaRuntime, redemption_id: int) -> CancellationView:
    with runtime.uow() as uow:
        record = uow.redemptions.get(redemption_id)
    if record is None:
        raise NotFound(f"no redemption {redemption_id}", code="redemption_not_found")
    if record.status == CANCELLED:
        return cancellation_view(record)
    if record.status != CONFIRMED or record.cancel_requested_at is None:
        raise _not_cancellable(record)
    for item in record.items:
        supplier = runtime.suppliers.for_item(item.item)
        try:
            supplier.cancel(item_key(record.id, item.n))
        except SupplierRefused as exc:
            with runtime.uow() as uow:
                uow.redemptions.withdraw_cancel(record.id, runtime.clock.now())
            raise Conflict(
                f"{supplier.name} refused to cancel ({exc.reason}); the award stays confirmed",
                code="supplier_refused",
            ) from exc
        except (
            SUPPLIER_UNREACHABLE
        ) as exc:  # no answer: the cancellation stays recorded, the sweeper finishes it
            raise SupplierUnavailable(
                f"{supplier.name} did not answer; the cancellation is recorded and will be finished when it does"
            ) from exc
    return _refund(runtime, record)


def _refund(runtime: SagaRuntime, record: RedemptionRecord) -> CancellationView:
    now = runtime.clock.now()
    with runtime.uow() as uow:
        programme = runtime.catalog.current(uow).in_force(now.date())
        member = uow.members.lock(record.member_number)
        current = uow.redemptions.lock(record.id)
        assert member is not None
        assert current is not None
        assert current.posting_transfer_id is not None
        if current.status == CANCELLED:
            return cancellation_view(current)
        if current.status != CONFIRMED:
            raise _not_cancellable(current)
        fee = cancellation_fee(programme.awards, member.standing.tier, current.miles)
        award = current.posting_transfer_id
        clearing = uow.ledger.credited_account(award)  # the clearing shard the award's miles went to
        refund_id = uow.ledger.post(
            Posting(
                from_account_id=clearing,
                to_account_id=member.account_id,
                amount=current.miles,
                code="redemption_refund",
                event_at=now,
                reverses_transfer_id=award,
                redemption_id=current.id,
            )
        )
        drawn = uow.lot_refunds.unrefunded_draws(award)
        uow.lot_refunds.refund(refund_id, award, [(d.lot_id, d.amount) for d in drawn])
        if fee:
            fee_id = uow.ledger.post(
                Posting(member.account_id, clearing, fee, "cancellation_fee", now, redemption_id=current.id)
            )
            # the fee comes out of the lots just given back, soonest-expiring first
            draws, _not_in_lots = plan_draws(
                [LotBalance(d.lot_id, d.expires_date, d.amount) for d in drawn], fee
            )
            uow.ledger.draw_lots(fee_id, draws)
        refunded = current.miles - fee
        uow.redemptions.transition(
            current.id,
            CONFIRMED,
            CANCELLED,
            now,
            reason=f"{refunded} miles returned, {fee} kept as the cancellation fee",
            refunded_miles=refunded,
            fee_miles=fee,
        )
        _audit(uow, runtime, current, member.id, refunded, fee)
        return CancellationView(CANCELLED, refunded, fee)


def _audit(
    uow: UnitOfWork, runtime: SagaRuntime, record: RedemptionRecord, member_id: int, refunded: int, fee: int
) -> None:
    """The cancellation's audit row, in the transaction that moved it to CANCELLED (so exactly once)."""
    requester = record.cancel_requested_by
    if requester is None:
        return
    audit.record(
        uow,
        runtime.clock,
        Actor(name=requester.actor, agent_id=requester.agent_id),
        "redemption.cancelled",
        member_id=member_id,
        subject=f"redemption:{record.id}",
        reason=requester.reason or DEFAULT_REASON,
        details={"miles": record.miles, "refunded_miles": refunded, "fee_miles": fee},
    )


@job(FINISH_CANCEL)
def finish_cancellation_job(runtime: SagaRuntime, redemption_id: int) -> str:
    try:
        return finish_cancellation(runtime, redemption_id).status
    except MilesError as exc:
        log.warning("cancellation of redemption %s not finished: %s", redemption_id, exc.message)
        return exc.code
