"""Sample data for `miles demo`: a few members with flights, through the real use cases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.accrual import FlightCoupon
from miles.domain.programme.carriers import CarrierRule, Earning
from miles.domain.programme.model import Programme
from miles.services.accrual_requests import CouponRequest
from miles.services.accruals import earn_coupons
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
    ("Amelia", "Earhart", "amelia@example.com"),  # a frequent flyer: an elite tier, miles for awards
]
Route = tuple[str, str, str, str]  # from, to, cabin, fare in the accounting currency (revenue carriers)
ROUTES: list[Route] = [
    ("JFK", "LHR", "economy", "512.40"),
    ("SEA", "JFK", "business", "1210.00"),
    ("CDG", "FRA", "economy", "312.00"),
    ("GSP", "ATL", "economy", "189.90"),
    ("LHR", "SFO", "business", "3845.50"),
]
FREQUENT_FLYER_ROUTES: list[Route] = [
    ("JFK", "NRT", "business", "5200.00"),
    ("NRT", "JFK", "business", "5200.00"),
] * 4


def _routes(person: int) -> list[Route]:
    return FREQUENT_FLYER_ROUTES if person == len(PEOPLE) - 1 else ROUTES[: 2 + person]


def _carrier_and_class(programme: Programme, j: int, cabin: str) -> tuple[CarrierRule, str]:
    """The programme's carriers in turn; the class of the cabin that earns the most (any, if none)."""
    carriers = [programme.carriers[code] for code in sorted(programme.carriers)]
    carrier = carriers[j % len(carriers)]
    classes = sorted(
        carrier.classes.items(), key=lambda kv: (kv[1].cabin != cabin, -kv[1].earn_percent, kv[0])
    )
    return carrier, classes[0][0]


def seed_if_empty(runtime: Runtime) -> list[str]:
    """Enrol the sample members and post their flights, unless the database has members already; returns
    the numbers of the members it enrolled (none when it left the database as it was)."""
    with runtime.uow() as uow:
        if uow.members.count() > 0:
            return []
        return _seed(uow, runtime.catalog, runtime.clock)


def _seed(uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock) -> list[str]:
    numbers = []
    programme = catalog.current(uow).in_force(clock.now().date())
    day = today(clock, programme.timezone)
    requests: list[CouponRequest] = []
    for i, (given, family, email) in enumerate(PEOPLE):
        member = enrol(uow, catalog, clock, NewMember(given, family, email))
        numbers.append(member.member_number)
        for j, (origin, destination, cabin, fare) in enumerate(_routes(i)):
            carrier, booking_class = _carrier_and_class(programme, i + j, cabin)
            revenue = carrier.earning is Earning.REVENUE
            coupon = FlightCoupon(
                member_number=member.member_number,
                ticket_number=f"{9990000000000 + i * 100 + j:013d}",
                coupon_number=1,
                marketing_carrier=carrier.code,
                operating_carrier=carrier.code,
                flight_number=str(100 + j),
                origin=origin,
                destination=destination,
                departure_date=day - timedelta(days=10 * (j + 1)),
                booking_class=booking_class,
                fare_amount=Decimal(fare) if revenue else None,
                fare_currency=programme.currency if revenue else None,
            )
            requests.append(CouponRequest(len(requests), coupon, request_digest(repr(coupon))))
    earn_coupons(uow, catalog, clock, requests, "api")
    return numbers
