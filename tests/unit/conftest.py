"""Fixtures for the pure-domain unit tests: the reference programme and builders for coupons and standings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from miles.domain.coupons import FlightCoupon
from miles.domain.programme.earning import MemberStanding
from miles.domain.programme.model import Programme
from miles.programme.reading import ProgrammeBook, read_reference

TODAY = date(2026, 11, 23)

BASE_COUPON = FlightCoupon(
    member_number="1000000016",  # sequence 100000001 with its Luhn check digit
    ticket_number="0012280476034",
    coupon_number=1,
    marketing_carrier="YY",
    operating_carrier="YY",
    flight_number="123",
    origin="JFK",
    destination="LHR",
    departure_date=date(2026, 10, 1),
    booking_class="Y",
)


@pytest.fixture(scope="session")
def book() -> ProgrammeBook:
    return read_reference()


@pytest.fixture(scope="session")
def programme(book: ProgrammeBook) -> Programme:
    return book.in_force(TODAY)


@pytest.fixture(scope="session")
def today() -> date:
    return TODAY


@pytest.fixture(scope="session")
def make_coupon() -> Callable[..., FlightCoupon]:
    """A valid YY JFK-LHR Y coupon flown 2026-10-01; keyword arguments override any field."""

    def build(**changes: Any) -> FlightCoupon:
        return replace(BASE_COUPON, **changes)

    return build


@pytest.fixture(scope="session")
def make_standing(programme: Programme) -> Callable[..., MemberStanding]:
    """A member with nothing flown in the qualification period of `departure` (the base coupon's
    departure unless told); an elite tier is valid to 2027-02-28 unless told. `totals` are the period's
    metrics by code (the others 0); keyword arguments override any other field."""

    def build(
        tier: str = "BLUE",
        *,
        departure: date = BASE_COUPON.departure_date,
        totals: dict[str, Any] | None = None,
        **changes: Any,
    ) -> MemberStanding:
        period_totals = {code: Decimal(0) for code in programme.metric_codes}
        period_totals.update({code: Decimal(value) for code, value in (totals or {}).items()})
        fields: dict[str, Any] = {
            "tier": tier,
            "tier_valid_until": None if tier == programme.ladder.base.code else date(2027, 2, 28),
            "lifetime_tier": programme.ladder.base.code,
            "lifetime_total": Decimal(0),
            "period": programme.qualification.fixed_period(departure),
            "totals": period_totals,
        }
        fields.update(changes)
        return MemberStanding(**fields)

    return build
