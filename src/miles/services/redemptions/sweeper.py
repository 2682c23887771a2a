"""The periodic sweep: every saga that has gone quiet gets its next step as a job, so that a lost
message (a broker restarted), a killed worker or a supplier that never answered leaves no redemption
and no hold behind:
- PENDING, hold not expired: book again (suppliers answer a repeated key with the booking made);
- PENDING, hold expired: settle it from the suppliers' answers;
- a cancellation begun and not finished: finish it;
- FAILED with bookings not released yet: cancel them.
Each pushed redemption's next attempt moves `retry_seconds` on, so a step under way is not pushed twice.
"""

from __future__ import annotations

from miles.adapters.db.redemptions import CONFIRMED, PENDING, DueRedemption
from miles.services.redemptions.saga_runtime import BOOK, FINISH_CANCEL, RELEASE, SETTLE, SWEEP, SagaRuntime
from miles.services.runtime import job


def _next_step(due: DueRedemption) -> str:
    if due.status == PENDING:
        return SETTLE if due.hold_expired else BOOK
    if due.status == CONFIRMED:
        return FINISH_CANCEL
    return RELEASE


@job(SWEEP)
def sweep(runtime: SagaRuntime, limit: int = 500) -> int:
    """Queue the next step of up to `limit` quiet sagas; how many."""
    now = runtime.clock.now()
    with runtime.uow() as uow:
        due = uow.redemptions.due(now, runtime.hold_timing.next_attempt_at(now), limit)
        for redemption in due:
            uow.outbox.add(_next_step(redemption), {"redemption_id": redemption.id})
    return len(due)
