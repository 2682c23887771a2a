"""A flown coupon for the example programmes' hand-worked tests: a route written "CDG-JFK"."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import miles.programme
from miles.domain.coupons import FlightCoupon

EXAMPLES = Path(miles.programme.__file__).parent / "examples"


def coupon(
    carrier: str,
    route: str,
    booking_class: str,
    flown: date,
    ticket: str,
    fare: str | None = None,
    currency: str | None = None,
) -> FlightCoupon:
    origin, destination = route.split("-")
    return FlightCoupon(
        member_number="1000000016",
        ticket_number=ticket,
        coupon_number=1,
        marketing_carrier=carrier,
        operating_carrier=carrier,
        flight_number="1",
        origin=origin,
        destination=destination,
        departure_date=flown,
        booking_class=booking_class,
        fare_amount=None if fare is None else Decimal(fare),
        fare_currency=None if fare is None else currency,
    )
