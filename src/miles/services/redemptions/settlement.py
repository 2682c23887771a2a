"""How a booking saga ends: the hold posted (CONFIRMED) or closed (FAILED), each in one transaction
under the member's lock and then the redemption's, and a failed redemption's bookings released.

Every ending checks the redemption is still PENDING under its lock: a step that finds another step
got there first (a duplicate delivery, the sweeper) leaves it alone, and if it had booked something for
a redemption that has failed meanwhile, it cancels what it booked. A failure is written before any
booking is cancelled, so a confirmed redemption never loses a booking to a concurrent compensation.
"""

from __future__ import annotations

from miles.adapters.db.holds import POSTED
from miles.adapters.db.ledger import Posting
from miles.adapters.db.redemptions import CONFIRMED, FAILED, PENDING, RedemptionRecord
from miles.domain.ledger import REDEMPTION_CLEARING
from miles.domain.lots import plan_draws
from miles.services.redemptions.saga_runtime import SagaRuntime, item_key


def confirm(
    runtime: SagaRuntime, record: RedemptionRecord, references: dict[int, str], reason: str | None
) -> str:
    """Post the hold: the miles go to redemption-clearing, drawn from the member's lots soonest-expiring
    first. Returns the status the redemption is in afterwards."""
    now = runtime.clock.now()
    with runtime.uow() as uow:
        uow.members.lock_id(record.member_id)
        status = uow.redemptions.lock_status(record.id)
        if status == PENDING:
            transfer_id = uow.ledger.post(
                Posting(
                    from_account_id=record.account_id,
                    to_account_id=uow.ledger.programme_account(REDEMPTION_CLEARING, record.member_id),
                    amount=record.miles,
                    code="redemption",
                    event_at=now,
                    redemption_id=record.id,
                )
            )
            draws, _not_in_lots = plan_draws(uow.ledger.open_lots(record.member_id), record.miles)
            uow.ledger.draw_lots(transfer_id, draws)
            uow.holds.close(record.hold_id, POSTED, now, transfer_id)
            uow.redemptions.transition(record.id, PENDING, CONFIRMED, now, reason, references=references)
            return CONFIRMED
    if status == FAILED:  # it failed meanwhile (the sweeper settled it): what this step booked goes
        release(runtime, record)
    return str(status)


def fail(runtime: SagaRuntime, record: RedemptionRecord, reason: str, hold_status: str) -> str:
    """Close the hold (VOIDED: a supplier said no; EXPIRED: no booking when it timed out), FAILED with
    the reason, then cancel whatever the items booked. Returns the status afterwards."""
    now = runtime.clock.now()
    with runtime.uow() as uow:
        uow.members.lock_id(record.member_id)
        status = uow.redemptions.lock_status(record.id)
        if status == PENDING:
            uow.holds.close(record.hold_id, hold_status, now)
            uow.redemptions.transition(
                record.id,
                PENDING,
                FAILED,
                now,
                reason,
                next_attempt_at=runtime.hold_timing.next_attempt_at(now),
            )
            status = FAILED
    if status == FAILED:
        release(runtime, record)
    return str(status)


def release(runtime: SagaRuntime, record: RedemptionRecord) -> None:
    """Cancel every item's booking of a failed redemption (cancelling what was never booked is
    harmless); if a supplier does not answer, the sweeper asks again later."""
    for item in record.items:
        runtime.suppliers.for_item(item.item).cancel(item_key(record.id, item.n))
    with runtime.uow() as uow:
        uow.redemptions.mark_released(record.id, runtime.clock.now())
