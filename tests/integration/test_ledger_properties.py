"""Property: any sequence of accruals and reversals keeps the ledger sound."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from miles.bootstrap import Container
from miles.domain.accrual import FlightCoupon
from miles.domain.errors import MilesError
from miles.services.accrual_requests import CouponRequest
from miles.services.accruals import accrue_coupons
from miles.services.clock import FixedClock
from miles.services.members import NewMember, enrol
from miles.services.reversals import reverse_accrual
from tests.integration.conftest import ledger_problems, reset

AIRPORTS = ["JFK", "LHR", "SEA", "GSP", "ATL", "SIN", "CDG", "NRT", "SYD", "GRU"]

coupon_steps = st.tuples(
    st.just("accrue"),
    st.integers(0, 2),  # which member
    st.sampled_from(AIRPORTS),
    st.sampled_from(AIRPORTS),
    st.sampled_from("FJIWYKVO"),
    st.sampled_from(["YY", "ZZ"]),
    st.dates(date(2025, 8, 16), date(2026, 2, 14)),  # the accrual window (6 months), across a year end
)
CLOCK_AT = datetime(2026, 2, 15, 12, 0, tzinfo=UTC)
reversal_steps = st.tuples(st.just("reverse"), st.integers(0, 50))
steps = st.lists(st.one_of(coupon_steps, reversal_steps), min_size=1, max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=steps)
def test_accruals_and_reversals_keep_balances_equal_to_entries(
    program: list[tuple[object, ...]], container: Container, engine: Engine, clock: FixedClock
) -> None:
    reset(engine)
    clock.at = CLOCK_AT
    with container.uow() as uow:
        members = [
            enrol(
                uow, container.catalog, container.clock, NewMember(f"P{i}", "Q", "p@q.example")
            ).member_number
            for i in range(3)
        ]
    accrued: list[int] = []
    for n, step in enumerate(program):
        if step[0] == "accrue":
            _, who, origin, destination, klass, carrier, day = step
            coupon = FlightCoupon(
                member_number=members[who],  # type: ignore[index]
                ticket_number=f"{n:013d}",
                coupon_number=1,
                marketing_carrier=str(carrier),
                operating_carrier=str(carrier),
                flight_number="1",
                origin=str(origin),
                destination=str(destination),
                departure_date=day,  # type: ignore[arg-type]
                booking_class=str(klass),
                fare_amount=__import__("decimal").Decimal("250.00") if carrier == "ZZ" else None,
                fare_currency="EUR" if carrier == "ZZ" else None,
            )
            [result] = accrue_coupons(container, [CouponRequest(0, coupon, "d")], "api")
            if result.accrual is not None:
                accrued.append(result.accrual.accrual_id)
            else:
                assert result.status == "rejected"
                assert origin == destination
        elif accrued:
            target = accrued[int(step[1]) % len(accrued)]  # type: ignore[call-overload]
            try:
                reverse_accrual(container, target, "refund", "refund")
            except MilesError:
                raise
        assert ledger_problems(engine) == []
