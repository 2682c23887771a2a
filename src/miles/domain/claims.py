"""Missing-miles claims: the window after departure in which a member may claim a flown coupon."""

from __future__ import annotations

from datetime import date, timedelta

from miles.domain.calendar import add_months
from miles.domain.errors import InvalidInput
from miles.domain.programme.model import Programme

# a claim is credited at once (APPLIED), or waits above the agent limit (PENDING) for a supervisor
APPLIED, PENDING, APPROVED, REJECTED = "APPLIED", "PENDING", "APPROVED", "REJECTED"


def claim_window(departure: date, programme: Programme) -> tuple[date, date]:
    """The first and the last day (both inclusive) on which a claim for this departure is accepted."""
    return departure + timedelta(days=programme.claim_min_days), add_months(
        departure, programme.claim_max_months
    )


def check_claim_window(departure: date, today: date, programme: Programme) -> None:
    if departure > today:  # before the window's arithmetic: 9999-12-31 has no day after it
        raise InvalidInput(
            "this flight has not departed yet: only flown coupons can be claimed",
            field="departure_date",
            code="claim_too_early",
        )
    first, last = claim_window(departure, programme)
    if today < first:
        raise InvalidInput(
            f"too early: a claim is accepted from {programme.claim_min_days} days after departure "
            f"(from {first.isoformat()}); the booking system may still send this coupon",
            field="departure_date",
            code="claim_too_early",
        )
    if today > last:
        raise InvalidInput(
            f"too late: a claim is accepted up to {programme.claim_max_months} months after departure "
            f"(until {last.isoformat()})",
            field="departure_date",
            code="claim_too_late",
        )
