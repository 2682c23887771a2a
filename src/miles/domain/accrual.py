"""Earning for a flown coupon: base, tier bonus, elite minimum, promotions, status credits, upgrades."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from miles.domain.calendar import add_months, end_of_month_after, local_date
from miles.domain.distance import airport_zone, distance_miles, is_airport
from miles.domain.errors import InvalidInput
from miles.domain.lots import check_not_born_expired
from miles.domain.member_numbers import validate_member_number
from miles.domain.rules import CarrierRule, ClassRule, Earning, ExpiryKind, Programme
from miles.domain.tiers import Tier, upgrade_valid_until

CENT = Decimal("0.01")
# no coupon departs before this, whatever a rules file's window (a status credit's year starts there)
EARLIEST_DEPARTURE = date(1950, 1, 1)
ZONE_SPREAD = timedelta(days=2)


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


@dataclass(frozen=True)
class MemberStanding:
    """What earning needs to know of a member at the moment a coupon is posted."""

    tier: Tier
    tier_valid_until: date | None
    lifetime_tier: Tier
    lifetime_status_miles: int
    qualifying_status_miles: int  # in the coupon's qualification year
    qualifying_segments: int


@dataclass(frozen=True)
class FlightEarning:
    distance_miles: int
    base_miles: int
    tier_bonus_miles: int
    promotion_miles: int
    award_miles: int
    status_miles: int
    segments: int
    spend_usd: Decimal
    qualification_year: int
    earned_date: date
    lot_expires_date: date | None
    tier_before: Tier
    tier_after: Tier
    tier_valid_until_after: date | None
    lifetime_tier_after: Tier


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
    if not amount.is_finite():
        raise InvalidInput("the fare must be a finite amount", field="fare.amount")
    if amount < 0:
        raise InvalidInput("the fare cannot be negative", field="fare.amount")
    rate = programme.currencies.get(currency or "")
    if rate is None:
        raise InvalidInput(f"unknown currency {currency!r}", field="fare.currency", code="unknown_currency")
    ceiling = programme.fare_ceiling_usd
    # `adjusted()` first: an amount like 1E+999999 would overflow the multiplication
    if amount.adjusted() > 15 or amount * rate > ceiling:
        raise InvalidInput(
            f"the fare is above the programme's ceiling of {ceiling:,} USD (at the rate table's rates)",
            field="fare.amount",
            code="fare_above_ceiling",
        )


def validate_coupon(
    programme: Programme, coupon: FlightCoupon, today: date, now: datetime | None = None
) -> CarrierRule:
    """Every rule a coupon must meet before it can earn; raises InvalidInput naming the field.
    `today` is the programme's date; `now`, when given, the instant (for the departure airport's date)."""
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
    check_flown(programme, coupon, today, now)
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


def fare_in_usd(programme: Programme, amount: Decimal, currency: str) -> Decimal:
    return (amount * programme.currencies[currency]).quantize(CENT, rounding=ROUND_HALF_UP)


def _floor_percent(value: int, percent: int) -> int:
    return value * percent // 100


def earn_for_flight(
    programme: Programme, coupon: FlightCoupon, standing: MemberStanding, today: date
) -> FlightEarning:
    """The miles and status a coupon earns for a member in the given standing (InvalidInput if it can't)."""
    return earn_validated(programme, validate_coupon(programme, coupon, today), coupon, standing, today)


def earn_validated(
    programme: Programme, carrier: CarrierRule, coupon: FlightCoupon, standing: MemberStanding, today: date
) -> FlightEarning:
    """`earn_for_flight` for a coupon that `validate_coupon` accepted (it returned `carrier`)."""
    klass: ClassRule = carrier.classes[coupon.booking_class]
    distance = distance_miles(coupon.origin, coupon.destination)
    tier = standing.tier
    earns = klass.earn_percent > 0

    spend = Decimal("0.00")
    bonus = 0
    if carrier.earning is Earning.REVENUE:
        assert coupon.fare_amount is not None
        assert coupon.fare_currency is not None
        spend = fare_in_usd(programme, coupon.fare_amount, coupon.fare_currency)
        rate = carrier.revenue_rates.get(tier, 0)
        base = int((spend * rate).to_integral_value(rounding=ROUND_DOWN)) if earns else 0
    else:
        base = _floor_percent(distance, klass.earn_percent)
        if earns and tier >= programme.elite_minimum_from:
            base = max(base, programme.elite_minimum_miles)
        rule = programme.tier_rule(tier)
        if rule is not None:
            bonus = _floor_percent(base, rule.bonus_percent)

    promotion = 0
    if earns:
        for promo in programme.promotions:
            if promo.applies(carrier.code, coupon.origin, coupon.destination, coupon.departure_date):
                promotion += _floor_percent(base, promo.bonus_percent) + promo.fixed_miles

    status = _floor_percent(distance, klass.status_percent)
    segments = 1 if earns else 0
    year = coupon.departure_date.year

    tier_after, valid_after, lifetime_after = _standing_after(
        programme, standing, year, status, segments, today
    )
    expires = None
    if programme.expiry.kind is ExpiryKind.LOTS:
        expires = end_of_month_after(coupon.departure_date, programme.expiry.months)
        if base + bonus + promotion > 0:
            check_not_born_expired(expires, today)

    return FlightEarning(
        distance_miles=distance,
        base_miles=base,
        tier_bonus_miles=bonus,
        promotion_miles=promotion,
        award_miles=base + bonus + promotion,
        status_miles=status,
        segments=segments,
        spend_usd=spend,
        qualification_year=year,
        earned_date=coupon.departure_date,
        lot_expires_date=expires,
        tier_before=tier,
        tier_after=tier_after,
        tier_valid_until_after=valid_after,
        lifetime_tier_after=lifetime_after,
    )


def _standing_after(
    programme: Programme,
    standing: MemberStanding,
    year: int,
    status: int,
    segments: int,
    today: date,
) -> tuple[Tier, date | None, Tier]:
    tier, valid = standing.tier, standing.tier_valid_until
    earned = programme.tier_earned(
        standing.qualifying_status_miles + status, standing.qualifying_segments + segments
    )
    earned_until = upgrade_valid_until(year)
    if earned > Tier.BLUE and earned_until >= today:
        if earned > tier or (earned == tier and valid is not None and earned_until > valid):
            tier, valid = earned, earned_until
    lifetime = max(
        standing.lifetime_tier,
        programme.lifetime_tier(standing.lifetime_status_miles + status),
    )
    if lifetime > Tier.BLUE and lifetime >= tier:
        tier, valid = lifetime, None
    return tier, valid, lifetime


def standing_after(standing: MemberStanding, earning: FlightEarning) -> MemberStanding:
    """The member's standing once `earning` is posted (same qualification year)."""
    return replace(
        standing,
        tier=earning.tier_after,
        tier_valid_until=earning.tier_valid_until_after,
        lifetime_tier=earning.lifetime_tier_after,
        lifetime_status_miles=standing.lifetime_status_miles + earning.status_miles,
        qualifying_status_miles=standing.qualifying_status_miles + earning.status_miles,
        qualifying_segments=standing.qualifying_segments + earning.segments,
    )


__all__ = [
    "FlightCoupon",
    "FlightEarning",
    "MemberStanding",
    "earn_for_flight",
    "standing_after",
    "validate_coupon",
]
