"""The booking saga's jobs: book the items with their suppliers and end the redemption, or, once its
hold has expired, settle it from what the suppliers answer.

At most one supplier booking per item, even when a worker is killed mid-task and the job runs again:
each item is booked under the key `redemption:{id}:{n}`, and a supplier answers a repeated key with the
booking it already made. The redemption's state moves only under its row lock and only from PENDING,
so a job delivered twice, or running beside the sweeper, ends the redemption once.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from miles.adapters.db.holds import EXPIRED, VOIDED
from miles.adapters.db.redemptions import FAILED, PENDING
from miles.domain.errors import SupplierRefused
from miles.services.redemptions.saga_runtime import (
    BOOK,
    RELEASE,
    SETTLE,
    SUPPLIER_UNREACHABLE,
    SagaRuntime,
    item_key,
)
from miles.services.redemptions.settlement import confirm, fail, release
from miles.services.runtime import job

PAUSE_AFTER_BOOKING = "MILES_TEST_PAUSE_AFTER_BOOKING_SECONDS"


def pause_after_booking() -> None:
    """Test-only hook: with MILES_TEST_PAUSE_AFTER_BOOKING_SECONDS set, the saga waits that long between
    the suppliers' bookings and posting the hold, so that a test can kill the worker in that window.
    Never set it in production."""
    seconds = float(os.environ.get(PAUSE_AFTER_BOOKING) or 0)
    if seconds > 0:
        time.sleep(seconds)


@job(BOOK)
def book(runtime: SagaRuntime, redemption_id: int) -> str:
    """Book every item, then post the hold (CONFIRMED); a supplier's no voids it (FAILED, its reason)
    and cancels what the other items booked. A supplier that does not answer leaves the redemption
    PENDING: the sweeper pushes it again, and settles it from the suppliers' answers once its hold
    has expired. Returns the redemption's status after this step."""
    with runtime.uow() as uow:
        record = uow.redemptions.get(redemption_id)
    if record is None or record.status != PENDING:
        return record.status if record else "MISSING"
    margin = timedelta(seconds=runtime.hold_timing.retry_seconds)
    if record.hold_expires_at - runtime.clock.now() <= margin:
        return PENDING  # too close to the hold's expiry to start booking: the sweeper settles it
    references: dict[int, str] = {}
    for item in record.items:
        supplier = runtime.suppliers.for_item(item.item)
        try:
            booking = supplier.book(item_key(record.id, item.n), item.item, item.fare)
        except SupplierRefused as exc:
            return fail(runtime, record, f"{supplier.name}: {exc.reason}", VOIDED)
        except SUPPLIER_UNREACHABLE:
            with runtime.uow() as uow:
                uow.redemptions.note(
                    record.id,
                    PENDING,
                    f"{supplier.name} did not answer in time: outcome unknown, the supplier will be asked again",
                    runtime.clock.now(),
                )
            return PENDING
        if not booking.booked:
            return fail(
                runtime, record, f"{supplier.name}: booking {booking.reference} was cancelled", VOIDED
            )
        references[item.n] = booking.reference
    pause_after_booking()
    return confirm(runtime, record, references, None)


@job(SETTLE)
def settle(runtime: SagaRuntime, redemption_id: int) -> str:
    """A PENDING redemption whose hold has expired: ask each supplier what it holds under the item's key
    and end it from their answers, never from a guess: all booked -> CONFIRMED; otherwise FAILED, the
    hold EXPIRED and the bookings made released. A supplier that does not answer now is asked again at
    the next sweep."""
    with runtime.uow() as uow:
        record = uow.redemptions.get(redemption_id)
    if record is None or record.status != PENDING:
        return record.status if record else "MISSING"
    references: dict[int, str] = {}
    missing: list[str] = []
    for item in record.items:
        supplier = runtime.suppliers.for_item(item.item)
        booking = supplier.find(item_key(record.id, item.n))
        if booking is not None and booking.booked:
            references[item.n] = booking.reference
        else:
            missing.append(supplier.name)
    if not missing:
        return confirm(
            runtime, record, references, "the suppliers confirmed the booking after the hold expired"
        )
    reason = f"no booking from {', '.join(missing)} when the hold expired"
    return fail(runtime, record, reason, EXPIRED)


@job(RELEASE)
def release_bookings(runtime: SagaRuntime, redemption_id: int) -> str:
    """A failed redemption whose bookings were not all cancelled yet (its worker stopped): cancel them."""
    with runtime.uow() as uow:
        record = uow.redemptions.get(redemption_id)
    if record is None or record.status != FAILED:
        return record.status if record else "MISSING"
    release(runtime, record)
    return FAILED
