"""A flown coupon, as a booking system posts it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class FlightCoupon:
    member_number: str
    ticket_number: str
    coupon_number: int
    marketing_carrier: str
    operating_carrier: str
    flight_number: str
    origin: str
    destination: str
    departure_date: date
    booking_class: str
    fare_amount: Decimal | None = None
    fare_currency: str | None = None
