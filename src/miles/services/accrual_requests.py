"""A coupon as a request to accrue it, and its result: what every accrual path (API, batch, claims,
demo) hands over and gets back."""

from __future__ import annotations

from dataclasses import dataclass

from miles.domain.coupons import FlightCoupon
from miles.domain.errors import MilesError
from miles.services.ledger_views import AccrualView


@dataclass(frozen=True)
class CouponRequest:
    index: int
    coupon: FlightCoupon | None  # None when the edge already refused the item
    digest: str = ""
    error: MilesError | None = None


@dataclass(frozen=True)
class CouponResult:
    index: int
    status: str
    accrual: AccrualView | None = None
    error: MilesError | None = None
    held_miles: int | None = None
