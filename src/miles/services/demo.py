"""Sample data for `miles demo`: a few members with flights, through the real use cases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.accrual import FlightCoupon
from miles.services.accruals import CouponRequest, earn_coupons
from miles.services.clock import Clock, today
from miles.services.digest import request_digest
from miles.services.members import NewMember, enrol
from miles.services.programmes import ProgrammeCatalog
from miles.services.runtime import Runtime

PEOPLE = [
    ("Ada", "Lovelace", "ada@example.com"),
    ("Grace", "Hopper", "grace@example.com"),
    ("Alan", "Turing", "alan@example.com"),
    ("Katherine", "Johnson", "katherine@example.com"),
    ("Amelia", "Earhart", "amelia@example.com"),  # a frequent flyer: GOLD, enough miles for awards
]
Route = tuple[str, str, str, str | tuple[str, str], str | None]  # carrier, from, to, class or fare, class
ROUTES: list[Route] = [
    ("YY", "JFK", "LHR", "Y", None),
    ("YY", "SEA", "JFK", "J", None),
    ("ZZ", "CDG", "FRA", ("EUR", "312.00"), "B"),
    ("YY", "GSP", "ATL", "M", None),
    ("ZZ", "LHR", "SFO", ("GBP", "845.50"), "J"),
]
FREQUENT_FLYER_ROUTES: list[Route] = [("YY", "JFK", "NRT", "J", None), ("YY", "NRT", "JFK", "J", None)] * 4


def _routes(person: int) -> list[Route]:
    return FREQUENT_FLYER_ROUTES if person == len(PEOPLE) - 1 else ROUTES[: 2 + person]


def seed_if_empty(runtime: Runtime) -> list[str]:
    """Enrol the sample members and post their flights, unless the database has members already; returns
    the numbers of the members it enrolled (none when it left the database as it was)."""
    with runtime.uow() as uow:
        if uow.members.count() > 0:
            return []
        return _seed(uow, runtime.catalog, runtime.clock)


def _seed(uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock) -> list[str]:
    numbers = []
    tz = catalog.current(uow).in_force(clock.now().date()).timezone
    day = today(clock, tz)
    requests: list[CouponRequest] = []
    for i, (given, family, email) in enumerate(PEOPLE):
        member = enrol(uow, catalog, clock, NewMember(given, family, email))
        numbers.append(member.member_number)
        for j, (carrier, origin, destination, fare_or_class, klass) in enumerate(_routes(i)):
            fare = fare_or_class if isinstance(fare_or_class, tuple) else None
            booking_class = klass if fare else fare_or_class
            coupon = FlightCoupon(
                member_number=member.member_number,
                ticket_number=f"{9990000000000 + i * 100 + j:013d}",
                coupon_number=1,
                marketing_carrier=carrier,
                operating_carrier=carrier,
                flight_number=str(100 + j),
                origin=origin,
                destination=destination,
                departure_date=day - timedelta(days=10 * (j + 1)),
                booking_class=str(booking_class),
                fare_amount=Decimal(fare[1]) if fare else None,
                fare_currency=fare[0] if fare else None,
            )
            requests.append(CouponRequest(len(requests), coupon, request_digest(repr(coupon))))
    earn_coupons(uow, catalog, clock, requests, "api")
    return numbers
