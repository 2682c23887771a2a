"""Fixtures for the pure-domain unit tests: the reference programme and builders for coupons and standings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from miles.domain.accrual import FlightCoupon, MemberStanding
from miles.domain.rules import Programme
from miles.domain.tiers import Tier
from miles.programme.loader import ProgrammeBook, load_reference

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
    return load_reference()


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
def make_standing() -> Callable[..., MemberStanding]:
    """A member with nothing flown this year; an elite tier is valid to 2027-02-28 unless told."""

    def build(tier: Tier = Tier.BLUE, **changes: Any) -> MemberStanding:
        fields: dict[str, Any] = {
            "tier": tier,
            "tier_valid_until": None if tier is Tier.BLUE else date(2027, 2, 28),
            "lifetime_tier": Tier.BLUE,
            "lifetime_status_miles": 0,
            "qualifying_status_miles": 0,
            "qualifying_segments": 0,
        }
        fields.update(changes)
        return MemberStanding(**fields)

    return build
