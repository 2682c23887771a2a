"""Whether a flown coupon can earn: the coupon's fields, the accrual window, the departure airport's date,
the carrier and class, the fare. What it earns is miles.domain.programme.earning."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from miles.domain.calendar import add_months, local_date
from miles.domain.coupons import FlightCoupon
from miles.domain.distance import airport_zone, is_airport
from miles.domain.errors import InvalidInput
from miles.domain.member_numbers import validate_member_number
from miles.domain.programme.carriers import CarrierRule, Earning
from miles.domain.programme.earning import FlightEarning, MemberStanding, earn
from miles.domain.programme.model import Programme

# no coupon departs before this, whatever a rules file's window (a qualification period starts there)
EARLIEST_DEPARTURE = date(1950, 1, 1)
ZONE_SPREAD = timedelta(days=2)


def departed_by(coupon: FlightCoupon, today: date, now: datetime | None) -> date:
    """The latest departure date flown by now: today at the departure airport (so a flight leaving
    Auckland on its local today has left even while the programme's zone is still on yesterday);
    `today` (the programme's) when the instant or the airport's zone is not known."""
    zone = airport_zone(coupon.origin) if now is not None else None
    if now is None or zone is None:
        return today
    return local_date(now, zone)


def check_flown(programme: Programme, coupon: FlightCoupon, today: date, now: datetime | None = None) -> None:
    """A coupon earns once flown (judged on the departure airport's date) and within the accrual window,
    which is the claims window: up to `claim_max_months` after departure (`coupon_too_old` after)."""
    # two zones' dates differ by two days at most: an older departure has flown wherever it left from
    recent = coupon.departure_date > today - ZONE_SPREAD
    if recent and coupon.departure_date > departed_by(coupon, today, now):
        raise InvalidInput(
            f"departure date {coupon.departure_date} is in the future; only flown coupons earn",
            field="departure_date",
        )
    if coupon.departure_date < EARLIEST_DEPARTURE or today > add_months(
        coupon.departure_date, programme.claim_max_months
    ):
        raise InvalidInput(
            f"departure date {coupon.departure_date} is too old: coupons earn up to "
            f"{programme.claim_max_months} months after departure",
            field="departure_date",
            code="coupon_too_old",
        )


def check_fare(programme: Programme, amount: Decimal, currency: str | None) -> None:
    """A finite, non-negative fare in a currency of the rate table, at most the programme's ceiling
    once converted into its accounting currency."""
    if not amount.is_finite():
        raise InvalidInput("the fare must be a finite amount", field="fare.amount")
    if amount < 0:
        raise InvalidInput("the fare cannot be negative", field="fare.amount")
    rate = programme.rates.get(currency or "")
    if rate is None:
        raise InvalidInput(f"unknown currency {currency!r}", field="fare.currency", code="unknown_currency")
    ceiling = programme.fare_ceiling
    # `adjusted()` first: an amount like 1E+999999 would overflow the multiplication
    if amount.adjusted() > 15 or amount * rate > ceiling:
        raise InvalidInput(
            f"the fare is above the programme's ceiling of {ceiling:,} {programme.currency} "
            "(at the rate table's rates)",
            field="fare.amount",
            code="fare_above_ceiling",
        )


QUOTE_HORIZON_DAYS = 366  # a quote is for a departure at most this far ahead


def validate_coupon(
    programme: Programme, coupon: FlightCoupon, today: date, now: datetime | None = None, quote: bool = False
) -> CarrierRule:
    """Every rule a coupon must meet before it can earn; raises InvalidInput naming the field.
    `today` is the programme's date; `now`, when given, the instant (for the departure airport's date).
    A `quote` is for a coupon sold, not yet flown: its departure may be up to a year ahead."""
    validate_member_number(coupon.member_number)
    if len(coupon.ticket_number) != 13 or not (
        coupon.ticket_number.isascii() and coupon.ticket_number.isdigit()
    ):
        raise InvalidInput("a ticket number is 13 digits", field="ticket_number")
    if not 1 <= coupon.coupon_number <= 4:
        raise InvalidInput("a coupon number is 1 to 4", field="coupon_number")
    for name in ("origin", "destination"):
        code = getattr(coupon, name)
        if not is_airport(code):
            raise InvalidInput(f"unknown airport {code!r}", field=name, code="unknown_airport")
    if coupon.origin == coupon.destination:
        raise InvalidInput("origin and destination are the same airport", field="destination")
    if not quote:
        check_flown(programme, coupon, today, now)
    elif coupon.departure_date > today + timedelta(days=QUOTE_HORIZON_DAYS):
        raise InvalidInput(
            f"a quote is for a departure at most {QUOTE_HORIZON_DAYS} days ahead", field="departure_date"
        )
    elif today > add_months(coupon.departure_date, programme.claim_max_months):
        check_flown(programme, coupon, today, now)  # too old: its own answer
    carrier = programme.carriers.get(coupon.marketing_carrier)
    if carrier is None:
        raise InvalidInput(
            f"carrier {coupon.marketing_carrier} is not in the programme",
            field="marketing_carrier",
            code="carrier_not_in_programme",
        )
    if coupon.booking_class not in carrier.classes:
        raise InvalidInput(
            f"carrier {carrier.code} does not sell booking class {coupon.booking_class!r}",
            field="booking_class",
        )
    if coupon.fare_amount is not None:
        check_fare(programme, coupon.fare_amount, coupon.fare_currency)
    if carrier.earning is Earning.REVENUE and coupon.fare_amount is None:
        raise InvalidInput(
            f"a {carrier.code} coupon earns on its fare: the fare is required",
            field="fare",
            code="fare_required",
        )
    return carrier


def earn_for_flight(
    programme: Programme, coupon: FlightCoupon, standing: MemberStanding, today: date
) -> FlightEarning:
    """What a coupon earns for a member in the given standing (InvalidInput if it can't)."""
    return earn(programme, validate_coupon(programme, coupon, today), coupon, standing, today)


__all__ = [
    "FlightCoupon",
    "check_fare",
    "check_flown",
    "earn_for_flight",
    "validate_coupon",
]
