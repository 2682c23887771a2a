"""The write step of flight accrual: the planned coupons of a request, with their members' standing and
promotions, written with a handful of set-based statements, and the ledger's balance changes noted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from miles.adapters.db.accrual_writes import NewAccrual, record_accruals
from miles.adapters.db.members import MemberRecord
from miles.adapters.db.standing import StandingUpdate, StatusCredit
from miles.adapters.db.standing import metric_values as stored_values
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.coupons import FlightCoupon
from miles.domain.errors import CouponRaced
from miles.domain.ledger import ACCRUAL_FLIGHT
from miles.domain.programme.earning import FlightEarning
from miles.domain.programme.model import Programme
from miles.services.accrual_requests import CouponRequest
from miles.services.accrual_views import earned_view
from miles.services.clock import start_of_day
from miles.services.ledger_views import AccrualView, PromotionMiles
from miles.services.promotions.earning import PromotionDesk


@dataclass
class Planned:
    request: CouponRequest
    coupon: FlightCoupon
    member: MemberRecord
    programme: Programme
    earning: FlightEarning
    balance_after: int
    promotions: list[PromotionMiles]
    view: AccrualView | None = None


@dataclass
class Standing:
    """A member's standing while the request's coupons post one after the other."""

    tier: str
    valid_until: date | None
    lifetime_tier: str
    lifetime_total: Decimal
    period_start: date  # the member's rolling period
    balance: int
    activity: date | None = None
    lifetime_delta: Decimal = Decimal(0)
    period_changed: bool = False
    # a new rolling period that starts the day the old one did (a tier reached on the first day): the
    # old period's totals, taken back from that day's row so that the new period starts at 0
    restarts: list[tuple[date, dict[str, Decimal], datetime]] = field(default_factory=list)
    totals: dict[date, dict[str, Decimal]] = field(default_factory=dict)  # by period start
    tickets: dict[str, int] = field(default_factory=dict)  # award miles (base and tier bonus) by ticket


def write_accruals(
    uow: UnitOfWork,
    codes: tuple[str, ...],
    planned: list[Planned],
    states: dict[int, Standing],
    desk: PromotionDesk,
    channel: str,
) -> None:
    if not planned:
        return
    rows = []
    for p in planned:
        e, c = p.earning, p.coupon
        reason = None
        if e.tier_after != e.tier_before:
            why = "lifetime" if e.tier_after == e.lifetime_tier_after else "qualified"
            reason = f"{why}: coupon {c.ticket_number}/{c.coupon_number}"
        rows.append(
            NewAccrual(
                member_id=p.member.id,
                account_id=p.member.account_id,
                ticket_number=c.ticket_number,
                coupon_number=c.coupon_number,
                request_digest=p.request.digest,
                channel=channel,
                marketing_carrier=c.marketing_carrier,
                operating_carrier=c.operating_carrier,
                flight_number=c.flight_number,
                origin=c.origin,
                destination=c.destination,
                departure_date=c.departure_date,
                booking_class=c.booking_class,
                fare_amount=c.fare_amount,
                fare_currency=c.fare_currency,
                distance_miles=e.distance_miles,
                base_miles=e.base_miles,
                tier_bonus_miles=e.tier_bonus_miles,
                promotion_miles=e.promotion_miles,
                award_miles=e.award_miles,
                credits=stored_values(codes, e.credits),
                fare_value=e.fare_value,
                period_start=e.period.start,
                tier_before=e.tier_before,
                tier_after=e.tier_after,
                tier_valid_until=e.tier_valid_until_after,
                tier_change_reason=reason,
                balance_after=p.balance_after,
                event_at=start_of_day(c.departure_date, p.programme.timezone),
                lot_expires_date=e.lot_expires_date,
            )
        )
    standing = [
        StandingUpdate(
            mid,
            s.tier,
            s.valid_until,
            s.lifetime_tier,
            s.lifetime_delta,
            s.activity,
            s.period_start if s.period_changed else None,
        )
        for mid, s in sorted(states.items())
    ]
    source = uow.ledger.programme_account(ACCRUAL_FLIGHT, planned[0].member.id)
    ids = record_accruals(uow.connection, source, rows, standing, uow.now)
    if len(ids) != len(planned):
        raise CouponRaced
    for mid, s in sorted(states.items()):
        for start, totals, event_at in s.restarts:
            taken = [-value for value in stored_values(codes, totals)]
            uow.standing.credit("period_restart", [StatusCredit(mid, start, taken, None, event_at)])
    for p in planned:
        e = p.earning
        if e.award_miles > 0:
            uow.ledger.add_balance_change(source, -(e.award_miles - e.promotion_miles))
            uow.ledger.add_balance_change(p.member.account_id, e.award_miles)
        accrual_id = ids[(p.coupon.ticket_number, p.coupon.coupon_number)]
        p.view = earned_view(
            p.programme, accrual_id, p.member.member_number, e, p.balance_after, p.promotions
        )
    if desk.awards:
        dates = {
            (r.ticket_number, r.coupon_number): (r.event_at, r.departure_date, r.lot_expires_date)
            for r in rows
        }
        accounts = {p.member.id: p.member.account_id for p in planned}
        desk.write(uow, ids, accounts, dates)
