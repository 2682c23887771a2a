"""Flight accrual, one coupon or ten thousand: a flown coupon earns once, ever.

Both the single endpoint and the batch go through `accrue_coupons` (claims, inside their own
transaction, through its step `earn_coupons`): validate each coupon, answer replays and conflicts from
what is recorded, lock the members in id order, earn in request order (a coupon that crosses a
threshold earns at the old tier, the next one at the new), then write everything with a handful of
set-based statements.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from miles.adapters.db.accrual_writes import NewAccrual, record_accruals
from miles.adapters.db.accruals import AccrualRecord
from miles.adapters.db.members import MemberRecord
from miles.adapters.db.standing import StandingUpdate
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.accrual import (
    FlightCoupon,
    FlightEarning,
    MemberStanding,
    earn_validated,
    validate_coupon,
)
from miles.domain.errors import Conflict, CouponRaced, InvalidInput, MilesError, NotFound
from miles.domain.ledger import ACCRUAL_FLIGHT
from miles.domain.rules import CarrierRule
from miles.domain.tiers import Tier
from miles.programme.loader import ProgrammeBook
from miles.services.clock import Clock, start_of_day, today
from miles.services.ledger_views import AccrualView, view_of_accrual
from miles.services.programmes import ProgrammeCatalog
from miles.services.runtime import Runtime

CREATED, REPLAYED, CONFLICT, REJECTED = "created", "replayed", "conflict", "rejected"
HELD = "held"  # earned more than the caller's `hold_above`: nothing written, the miles are in `held_miles`
ATTEMPTS = 3
T = TypeVar("T")


def retry_raced(
    open_uow: Callable[[], AbstractContextManager[UnitOfWork]],
    work: Callable[[UnitOfWork], T],
    attempts: int = ATTEMPTS,
) -> T:
    """Run a use case that records coupons in a unit of work of its own; when a concurrent request
    recorded one of its coupons meanwhile (CouponRaced, everything rolled back), run it again from the
    start, where that coupon now answers as a replay or a conflict. The last race is raised (a 409)."""
    for attempt in range(attempts):
        try:
            with open_uow() as uow:
                return work(uow)
        except CouponRaced:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class CouponRequest:
    index: int
    coupon: FlightCoupon | None  # None when the edge already refused the item
    digest: str = ""
    error: MilesError | None = None


@dataclass(frozen=True)
class CouponResult:
    index: int
    status: str
    accrual: AccrualView | None = None
    error: MilesError | None = None
    held_miles: int | None = None


def accrual_view(record: AccrualRecord) -> AccrualView:
    return view_of_accrual(record.id, record.member_number, record, record.tier_after, record.balance_after)


def _conflict(ticket: str, coupon: int, accrual_id: int) -> Conflict:
    return Conflict(
        f"coupon {ticket}/{coupon} was already accrued (accrual {accrual_id}) with a different request",
        code="coupon_already_accrued",
    )


def _replay(index: int, record: AccrualRecord, digest: str) -> CouponResult:
    if record.request_digest != digest:
        return CouponResult(
            index, CONFLICT, error=_conflict(record.ticket_number, record.coupon_number, record.id)
        )
    return CouponResult(index, REPLAYED, accrual=accrual_view(record))


@dataclass
class _Planned:
    request: CouponRequest
    coupon: FlightCoupon
    member: MemberRecord
    earning: FlightEarning
    balance_after: int
    timezone: str
    view: AccrualView | None = None


@dataclass
class _Standing:
    tier: Tier
    valid_until: date | None
    lifetime_tier: Tier
    lifetime_miles: int
    balance: int
    activity: date | None = None
    lifetime_delta: int = 0
    qualifying: dict[int, tuple[int, int]] = field(default_factory=dict)


def accrue_coupons(runtime: Runtime, requests: list[CouponRequest], channel: str) -> list[CouponResult]:
    """Accrue flown coupons for a channel ("api", "batch"): one result per request, in order, in one
    transaction; run again from the start when a concurrent request recorded one of them meanwhile."""
    return retry_raced(
        runtime.uow, lambda uow: earn_coupons(uow, runtime.catalog, runtime.clock, requests, channel)
    )


def earn_coupons(
    uow: UnitOfWork,
    catalog: ProgrammeCatalog,
    clock: Clock,
    requests: list[CouponRequest],
    channel: str,
    hold_above: int | None = None,
) -> list[CouponResult]:
    """One result per request, in order, in the caller's transaction (may raise CouponRaced: see
    `retry_raced`). With `hold_above`, a coupon that would earn more award miles than that is not
    written: its result is HELD with the miles it would earn (a claim then waits)."""
    book = catalog.current(uow)
    now = clock.now()
    results: dict[int, CouponResult] = {}
    valid: list[CouponRequest] = []
    carriers: dict[int, CarrierRule] = {}
    for req in requests:
        if req.coupon is None:
            results[req.index] = CouponResult(req.index, REJECTED, error=req.error)
            continue
        programme = book.in_force(req.coupon.departure_date)
        try:
            carriers[req.index] = validate_coupon(
                programme, req.coupon, today(clock, programme.timezone), now
            )
        except InvalidInput as exc:
            results[req.index] = CouponResult(req.index, REJECTED, error=exc)
            continue
        valid.append(req)

    first: dict[tuple[str, int], CouponRequest] = {}
    repeats: list[CouponRequest] = []
    for req in valid:
        assert req.coupon is not None
        key = (req.coupon.ticket_number, req.coupon.coupon_number)
        if key in first:
            repeats.append(req)
        else:
            first[key] = req

    if len(first) == 1:  # one coupon: a plain index lookup
        [(ticket, number)] = first
        found = uow.accruals.find(ticket, number)
        recorded = {(ticket, number): found} if found else {}
    else:
        recorded = uow.accruals.find_many(list(first))
    fresh = []
    for key, req in first.items():
        if key in recorded:
            results[req.index] = _replay(req.index, recorded[key], req.digest)
        else:
            fresh.append(req)

    planned, states = _plan(uow, book, clock, fresh, results, carriers, hold_above)
    _write(uow, planned, states, channel)
    for p in planned:
        results[p.request.index] = CouponResult(p.request.index, CREATED, accrual=p.view)

    for req in repeats:  # the same coupon twice in one request: the second answers like a replay
        assert req.coupon is not None
        key = (req.coupon.ticket_number, req.coupon.coupon_number)
        original = first[key]
        done = results[original.index]
        if done.status == REJECTED:
            results[req.index] = CouponResult(req.index, REJECTED, error=done.error)
        elif original.digest != req.digest or done.accrual is None:
            accrual_id = done.accrual.accrual_id if done.accrual else 0
            results[req.index] = CouponResult(req.index, CONFLICT, error=_conflict(*key, accrual_id))
        else:
            results[req.index] = CouponResult(req.index, REPLAYED, accrual=done.accrual)
    return [results[req.index] for req in requests]


def _plan(
    uow: UnitOfWork,
    book: ProgrammeBook,
    clock: Clock,
    fresh: list[CouponRequest],
    results: dict[int, CouponResult],
    carriers: dict[int, CarrierRule],
    hold_above: int | None = None,
) -> tuple[list[_Planned], dict[int, _Standing]]:
    if not fresh:
        return [], {}
    numbers = sorted({req.coupon.member_number for req in fresh if req.coupon})
    years = sorted({req.coupon.departure_date.year for req in fresh if req.coupon})
    if len(years) == 1:  # the usual case: the members' totals of that year come with them
        members = uow.members.lock_many(numbers, years[0])
        qualifying = {
            (m.id, years[0]): (m.standing.qualifying_status_miles, m.standing.qualifying_segments)
            for m in members.values()
        }
    else:
        members = uow.members.lock_many(numbers, 0)
        qualifying = uow.members.qualifying([m.id for m in members.values()], years)
    states: dict[int, _Standing] = {}
    planned: list[_Planned] = []
    for req in fresh:
        coupon = req.coupon
        assert coupon is not None
        member = members.get(coupon.member_number)
        if member is None:
            error = NotFound(
                f"no member {coupon.member_number}", field="member_number", code="member_not_found"
            )
            results[req.index] = CouponResult(req.index, REJECTED, error=error)
            continue
        state = states.get(member.id)
        if state is None:
            s = member.standing
            state = _Standing(
                s.tier, s.tier_valid_until, s.lifetime_tier, s.lifetime_status_miles, member.balance
            )
            states[member.id] = state
        year = coupon.departure_date.year
        q_miles, q_segments = state.qualifying.get(year, qualifying.get((member.id, year), (0, 0)))
        programme = book.in_force(coupon.departure_date)
        standing = MemberStanding(
            tier=state.tier,
            tier_valid_until=state.valid_until,
            lifetime_tier=state.lifetime_tier,
            lifetime_status_miles=state.lifetime_miles,
            qualifying_status_miles=q_miles,
            qualifying_segments=q_segments,
        )
        try:
            earning = earn_validated(
                programme, carriers[req.index], coupon, standing, today(clock, programme.timezone)
            )
        except InvalidInput as exc:
            results[req.index] = CouponResult(req.index, REJECTED, error=exc)
            continue
        if hold_above is not None and earning.award_miles > hold_above:
            results[req.index] = CouponResult(req.index, HELD, held_miles=earning.award_miles)
            continue
        state.tier, state.valid_until = earning.tier_after, earning.tier_valid_until_after
        state.lifetime_tier = earning.lifetime_tier_after
        state.lifetime_miles += earning.status_miles
        state.lifetime_delta += earning.status_miles
        state.balance += earning.award_miles
        state.activity = max(state.activity or coupon.departure_date, coupon.departure_date)
        state.qualifying[year] = (q_miles + earning.status_miles, q_segments + earning.segments)
        planned.append(_Planned(req, coupon, member, earning, state.balance, programme.timezone))
    return planned, states


def _write(uow: UnitOfWork, planned: list[_Planned], states: dict[int, _Standing], channel: str) -> None:
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
                status_miles=e.status_miles,
                segments=e.segments,
                spend_usd=e.spend_usd,
                qualification_year=e.qualification_year,
                tier_before=e.tier_before.name,
                tier_after=e.tier_after.name,
                tier_valid_until=e.tier_valid_until_after,
                tier_change_reason=reason,
                balance_after=p.balance_after,
                event_at=start_of_day(c.departure_date, p.timezone),
                lot_expires_date=e.lot_expires_date,
            )
        )
    standing = [
        StandingUpdate(mid, s.tier.name, s.valid_until, s.lifetime_tier.name, s.lifetime_delta, s.activity)
        for mid, s in sorted(states.items())
    ]
    source = uow.ledger.programme_account(ACCRUAL_FLIGHT, planned[0].member.id)
    ids = record_accruals(uow.connection, source, rows, standing)
    if len(ids) != len(planned):
        raise CouponRaced
    for p in planned:
        e = p.earning
        if e.award_miles > 0:
            uow.ledger.add_balance_change(source, -e.award_miles)
            uow.ledger.add_balance_change(p.member.account_id, e.award_miles)
        accrual_id = ids[(p.coupon.ticket_number, p.coupon.coupon_number)]
        p.view = view_of_accrual(accrual_id, p.member.member_number, e, e.tier_after.name, p.balance_after)
