"""What the redemption use cases and jobs need beyond the common runtime: the suppliers and the timing
of holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import OperationalError

from miles.adapters.suppliers.protocol import Suppliers
from miles.domain.errors import SupplierTimeout
from miles.services.runtime import Runtime


@dataclass(frozen=True)
class HoldTiming:
    """How long a pending hold waits for the suppliers before the sweeper settles it from their answer,
    and how long a saga step may be silent before the sweeper pushes it again."""

    hold_seconds: float = 600.0
    retry_seconds: float = 30.0

    def expires_at(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.hold_seconds)

    def next_attempt_at(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.retry_seconds)


class SagaRuntime(Runtime, Protocol):
    suppliers: Suppliers
    hold_timing: HoldTiming


# A supplier that did not answer (its outcome is unknown: only asking again by key tells). Anything else
# a supplier call raises is a bug and surfaces as one.
SUPPLIER_UNREACHABLE: tuple[type[BaseException], ...] = (SupplierTimeout, OSError, OperationalError)


def item_key(redemption_id: int, n: int) -> str:
    """The idempotency key an item is booked under with its supplier."""
    return f"redemption:{redemption_id}:{n}"


BOOK = "miles.redemptions.book"  # book the items with the suppliers, then post or void the hold
SETTLE = "miles.redemptions.settle"  # an expired hold: ask the suppliers, then post or expire it
RELEASE = "miles.redemptions.release"  # a failed redemption: cancel whatever its items booked
FINISH_CANCEL = "miles.redemptions.finish_cancel"  # a cancellation begun: supplier, then refund
SWEEP = "miles.redemptions.sweep"  # periodic: push every saga that has gone quiet
