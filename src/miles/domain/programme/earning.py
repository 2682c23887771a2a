"""What a flown coupon earns under a programme: award miles, qualifying credits, the tier it leads to.

The coupon is validated first (miles.domain.accrual.validate_coupon); here every formula of the rules
file: distance or revenue earning, class and tier bonuses, minimums, the cap per ticket, promotions, the
credit of each qualifying metric, and the member's standing once the coupon is posted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from miles.domain.calendar import end_of_month_after
from miles.domain.coupons import FlightCoupon
from miles.domain.distance import distance_miles, domestic
from miles.domain.lots import check_not_born_expired
from miles.domain.programme.carriers import (
    CarrierRule,
    ClassRule,
    CreditKind,
    Earning,
    MetricCredit,
    PercentOf,
    TierBonusOn,
)
from miles.domain.programme.model import ExpiryKind, Programme
from miles.domain.programme.qualification import Period

CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True)
class MemberStanding:
    """What earning needs to know of a member at the moment a coupon is posted."""

    tier: str
    tier_valid_until: date | None
    lifetime_tier: str  # the base tier's code when none was reached
    lifetime_total: Decimal  # the lifetime metric's total (0 without lifetime tiers)
    period: Period  # the qualification period the coupon credits
    totals: Mapping[str, Decimal]  # that period's metrics before the coupon
    ticket_award_miles: int = 0  # base and tier bonus miles the coupon's ticket earned already


@dataclass(frozen=True)
class FlightEarning:
    distance_miles: int
    base_miles: int
    tier_bonus_miles: int
    promotion_miles: int
    award_miles: int
    credits: Mapping[str, Decimal]  # every metric of the programme, 0 where the coupon credits none
    fare_value: Decimal  # the fare in the accounting currency (0 without a fare)
    period: Period
    earned_date: date
    lot_expires_date: date | None
    tier_before: str
    tier_after: str
    tier_valid_until_after: date | None
    lifetime_tier_after: str
    period_restarts_date: date | None  # rolling periods: a new period starts that day (a new tier)


def fare_value(programme: Programme, amount: Decimal, currency: str) -> Decimal:
    """The fare in the accounting currency, to the cent."""
    return (amount * programme.rates[currency]).quantize(CENT, rounding=ROUND_HALF_UP)


def _percent(value: int, percent: int) -> int:
    return value * percent // 100


def _distance_credit(credit: MetricCredit, klass: ClassRule, distance: int) -> int:
    credited = max(distance, credit.minimum_distance)
    if credit.percent_of is PercentOf.QUALIFYING:
        return _percent(credited, klass.qualifying_percent or 0)
    earned = _percent(credited, klass.earn_percent)
    if credit.percent_of is PercentOf.EARN_AND_BONUS:
        earned += _percent(credited, klass.bonus_percent)
    return earned


def metric_credits(
    programme: Programme, carrier: CarrierRule, coupon: FlightCoupon, distance: int, fare: Decimal
) -> dict[str, Decimal]:
    """What the coupon credits to each of the programme's metrics."""
    klass = carrier.classes[coupon.booking_class]
    out = {code: ZERO for code in programme.metric_codes}
    for credit in carrier.credits:
        if credit.kind is CreditKind.DISTANCE:
            amount = Decimal(_distance_credit(credit, klass, distance))
        elif credit.kind is CreditKind.BAND:
            assert credit.table is not None
            home = domestic(coupon.origin, coupon.destination)
            amount = Decimal(credit.table.value(distance, klass.cabin, domestic=home))
        elif credit.kind is CreditKind.SEGMENT:
            amount = Decimal(credit.per_segment if klass.earn_percent > 0 else 0)
        else:
            amount = fare
        out[credit.metric] += amount
    return out


def award_miles(
    programme: Programme,
    carrier: CarrierRule,
    coupon: FlightCoupon,
    standing: MemberStanding,
    distance: int,
    fare: Decimal,
) -> tuple[int, int]:
    """(base miles, tier bonus miles) of the coupon for a member at `standing.tier`."""
    klass = carrier.classes[coupon.booking_class]
    tier = programme.ladder.get(standing.tier)
    if klass.earn_percent <= 0:
        return 0, 0
    if carrier.earning is Earning.REVENUE:
        assert carrier.revenue_rates is not None
        base = int((fare * carrier.revenue_rates[tier.code]).to_integral_value(rounding=ROUND_DOWN))
        bonus = 0
    else:
        credited = max(distance, carrier.minimum_distance)
        base = _percent(credited, klass.earn_percent) + _percent(credited, klass.bonus_percent)
        if carrier.minimum_miles and tier.rank >= carrier.minimum_from_rank:
            base = max(base, carrier.minimum_miles)
        bonus = 0
        if carrier.tier_bonus is TierBonusOn.BASE:
            bonus = _percent(base, tier.bonus_percent)
        elif carrier.tier_bonus is TierBonusOn.DISTANCE:
            bonus = _percent(credited, tier.bonus_percent)
    if carrier.cap_per_ticket is not None:
        room = max(0, carrier.cap_per_ticket - standing.ticket_award_miles)
        base = min(base, room)
        bonus = min(bonus, room - base)
    return base, bonus


def earn(
    programme: Programme, carrier: CarrierRule, coupon: FlightCoupon, standing: MemberStanding, today: date
) -> FlightEarning:
    """The coupon's earning for a member in `standing`, posted on `today` (the programme's date)."""
    distance = distance_miles(coupon.origin, coupon.destination)
    fare = ZERO
    if coupon.fare_amount is not None and coupon.fare_currency is not None:
        fare = fare_value(programme, coupon.fare_amount, coupon.fare_currency)
    base, bonus = award_miles(programme, carrier, coupon, standing, distance, fare)
    promotion = 0  # promotions are added by `with_promotions`
    credits = metric_credits(programme, carrier, coupon, distance, fare)
    after, restarted = _after_credits(programme, standing, credits, today)
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
        credits=credits,
        fare_value=fare,
        period=standing.period,
        earned_date=coupon.departure_date,
        lot_expires_date=expires,
        tier_before=standing.tier,
        tier_after=after.tier,
        tier_valid_until_after=after.tier_valid_until,
        lifetime_tier_after=after.lifetime_tier,
        period_restarts_date=after.period.start if restarted else None,
    )


def with_promotions(
    programme: Programme,
    earning: FlightEarning,
    standing: MemberStanding,
    miles: int,
    metric_bonus: Mapping[str, Decimal],
    today: date,
) -> FlightEarning:
    """The earning with the promotion miles and qualifying-metric bonuses its coupon earned: the
    metric bonuses count in the period's totals, so the tier after may be higher."""
    if not miles and not metric_bonus:
        return earning
    credits = {code: value + metric_bonus.get(code, ZERO) for code, value in earning.credits.items()}
    changed: dict[str, object] = {}
    if metric_bonus:
        after, restarted = _after_credits(programme, standing, credits, today)
        changed = {
            "tier_after": after.tier,
            "tier_valid_until_after": after.tier_valid_until,
            "lifetime_tier_after": after.lifetime_tier,
            "period_restarts_date": after.period.start if restarted else None,
        }
    return replace(
        earning,
        promotion_miles=earning.promotion_miles + miles,
        award_miles=earning.award_miles + miles,
        credits=credits,
        **changed,  # type: ignore[arg-type]
    )


def standing_after_credits(
    programme: Programme, standing: MemberStanding, credits: Mapping[str, Decimal], today: date
) -> MemberStanding:
    """The member's standing once `credits` are added to the period's totals on `today`.

    Fixed periods: the tier earned in the period applies at once when it is higher than the one held
    (or the same, valid longer) and still valid today. Rolling periods: a higher tier applies at once,
    and a new period starts today with every counter at 0, the tier valid to its end. A lifetime
    milestone sets the lifetime tier, a floor held for life."""
    return _after_credits(programme, standing, credits, today)[0]


def _after_credits(
    programme: Programme, standing: MemberStanding, credits: Mapping[str, Decimal], today: date
) -> tuple[MemberStanding, bool]:
    """`standing_after_credits`, and whether a new rolling period started (maybe on the day the old one
    did, for a tier reached on a period's first day)."""
    restarted = False
    ladder, rules = programme.ladder, programme.qualification
    totals = {
        code: standing.totals.get(code, ZERO) + credits.get(code, ZERO) for code in programme.metric_codes
    }
    tier, valid, period = standing.tier, standing.tier_valid_until, standing.period
    earned = ladder.earned(totals)
    if earned.rank > 0:
        if rules.rolling:
            if earned.rank > ladder.rank(tier):
                period, restarted = rules.rolling_period(today), True
                tier, valid, totals = earned.code, period.end, {code: ZERO for code in totals}
        else:
            until = rules.valid_until(standing.period)
            longer = earned.code == tier and valid is not None and until > valid
            if until >= today and (earned.rank > ladder.rank(tier) or longer):
                tier, valid = earned.code, until
    lifetime = standing.lifetime_tier
    lifetime_total = standing.lifetime_total
    if rules.lifetime_metric is not None:
        lifetime_total += credits.get(rules.lifetime_metric, ZERO)
        reached = rules.lifetime_tier(lifetime_total)
        if reached is not None:
            lifetime = ladder.higher(lifetime, reached)
    if ladder.rank(lifetime) > 0 and ladder.rank(lifetime) >= ladder.rank(tier):
        tier, valid = lifetime, None
    after = replace(
        standing,
        tier=tier,
        tier_valid_until=valid,
        lifetime_tier=lifetime,
        lifetime_total=lifetime_total,
        period=period,
        totals=totals,
    )
    return after, restarted
