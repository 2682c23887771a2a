"""Properties of earning on random valid YY coupons."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from miles.domain.accrual import FlightCoupon, earn_for_flight
from miles.domain.programme.earning import MemberStanding
from miles.programme.reading import read_reference

TODAY = date(2026, 11, 23)
PROGRAMME = read_reference().in_force(TODAY)
YY = PROGRAMME.carriers["YY"]
TIERS = PROGRAMME.ladder.codes
AIRPORTS = [
    "JFK", "LHR", "SEA", "ATL", "GSP", "LAX", "ORD", "DFW", "SFO", "CDG",
    "FRA", "AMS", "NRT", "HND", "SYD", "SIN", "DXB", "GRU", "YYZ", "MEX",
    "BOS", "MIA",
]  # fmt: skip


@st.composite
def coupons(draw: st.DrawFn) -> FlightCoupon:
    origin, destination = draw(st.lists(st.sampled_from(AIRPORTS), min_size=2, max_size=2, unique=True))
    return FlightCoupon(
        member_number="1000000016",
        ticket_number="0012280476034",
        coupon_number=draw(st.integers(1, 4)),
        marketing_carrier="YY",
        operating_carrier="YY",
        flight_number="1",
        origin=origin,
        destination=destination,
        departure_date=draw(st.dates(date(2026, 5, 23), TODAY)),
        booking_class=draw(st.sampled_from(sorted(YY.classes))),
    )


def standing(tier: str, departure: date) -> MemberStanding:
    return MemberStanding(
        tier=tier,
        tier_valid_until=None if tier == "BLUE" else date(2027, 2, 28),
        lifetime_tier="BLUE",
        lifetime_total=Decimal(0),
        period=PROGRAMME.qualification.fixed_period(departure),
        totals={code: Decimal(0) for code in PROGRAMME.metric_codes},
    )


@settings(max_examples=300, deadline=None)
@given(coupon=coupons(), tier=st.sampled_from(TIERS))
def test_award_is_base_plus_bonus_plus_promotion_and_never_negative(coupon: FlightCoupon, tier: str) -> None:
    earning = earn_for_flight(PROGRAMME, coupon, standing(tier, coupon.departure_date), TODAY)
    earn_percent = YY.classes[coupon.booking_class].earn_percent
    status_miles, segments = earning.credits["status_miles"], earning.credits["segments"]

    assert earning.award_miles == earning.base_miles + earning.tier_bonus_miles + earning.promotion_miles
    for value in (earning.base_miles, earning.tier_bonus_miles, earning.promotion_miles):
        assert value >= 0
        assert type(value) is int
    for credit in (status_miles, segments):  # whole numbers, as metrics that are not money
        assert credit >= 0
        assert credit == credit.to_integral_value()
    assert segments == (1 if earn_percent > 0 else 0)
    assert status_miles == earning.distance_miles * earn_percent // 100
    ladder = PROGRAMME.ladder
    if ladder.rank(tier) >= ladder.rank("SILVER") and earn_percent > 0:
        assert earning.base_miles >= 500
    if earn_percent == 0:
        assert earning.award_miles == 0
    assert ladder.rank(earning.tier_after) >= ladder.rank(tier)
