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
from datetime import date
from decimal import Decimal
from typing import TypeVar

from miles.adapters.db.accruals import AccrualRecord
from miles.adapters.db.standing import metric_mapping
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.accrual import FlightCoupon, validate_coupon
from miles.domain.calendar import local_date
from miles.domain.errors import BudgetMoved, Conflict, CouponRaced, InvalidInput, NotFound
from miles.domain.programme.carriers import CarrierRule
from miles.domain.programme.earning import FlightEarning, MemberStanding, earn, with_promotions
from miles.domain.programme.model import Programme
from miles.domain.programme.qualification import Period
from miles.programme.reading import ProgrammeBook
from miles.services.accrual_requests import CouponRequest, CouponResult
from miles.services.accrual_views import accrual_view, earned_view
from miles.services.accrual_writing import Planned, Standing, write_accruals
from miles.services.clock import Clock, start_of_day, today
from miles.services.ledger_views import PromotionMiles
from miles.services.programmes import ProgrammeCatalog
from miles.services.promotions.earning import PromotionDesk, coupon_facts
from miles.services.runtime import Runtime

CREATED, REPLAYED, CONFLICT, REJECTED = "created", "replayed", "conflict", "rejected"
QUOTED = "quoted"  # a quote: what the coupon would earn now, nothing written
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


def _conflict(ticket: str, coupon: int, accrual_id: int) -> Conflict:
    return Conflict(
        f"coupon {ticket}/{coupon} was already accrued (accrual {accrual_id}) with a different request",
        code="coupon_already_accrued",
    )


def _replay(
    book: ProgrammeBook, index: int, record: AccrualRecord, digest: str, promotions: list[PromotionMiles]
) -> CouponResult:
    if record.request_digest != digest:
        return CouponResult(
            index, CONFLICT, error=_conflict(record.ticket_number, record.coupon_number, record.id)
        )
    return CouponResult(index, REPLAYED, accrual=accrual_view(book, record, promotions))


def quote_coupon(runtime: Runtime, request: CouponRequest) -> CouponResult:
    """What a coupon would earn now (miles, promotions, credits, tier after), writing and locking nothing."""
    with runtime.uow() as uow:
        [result] = earn_coupons(uow, runtime.catalog, runtime.clock, [request], "api", quote=True)
        return result


def accrue_coupons(runtime: Runtime, requests: list[CouponRequest], channel: str) -> list[CouponResult]:
    """Accrue flown coupons for a channel ("api", "batch"): one result per request, in order, in one
    transaction; run again from the start when a concurrent request recorded one of them meanwhile.
    Promotion budgets are read without a lock and locked only at the end for those spent; when one
    moved meanwhile below what is spent, the request runs again with them locked from the start."""

    def attempt(locked_budgets: bool) -> list[CouponResult]:
        return retry_raced(
            runtime.uow,
            lambda uow: earn_coupons(
                uow, runtime.catalog, runtime.clock, requests, channel, locked_budgets=locked_budgets
            ),
        )

    try:
        return attempt(False)
    except BudgetMoved:
        return attempt(True)


def earn_coupons(
    uow: UnitOfWork,
    catalog: ProgrammeCatalog,
    clock: Clock,
    requests: list[CouponRequest],
    channel: str,
    hold_above: int | None = None,
    quote: bool = False,
    locked_budgets: bool = True,
) -> list[CouponResult]:
    """One result per request, in order, in the caller's transaction (may raise CouponRaced: see
    `retry_raced`). With `hold_above`, a coupon that would earn more award miles than that is not
    written: its result is HELD with the miles it would earn (a claim then waits). A `quote` writes and
    locks nothing: each result is QUOTED with what the coupon would earn now (departures up to a year
    ahead are quoted)."""
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
                programme, req.coupon, today(clock, programme.timezone), now, quote
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
    bonuses = _bonuses(uow, [r.id for r in recorded.values() if r.promotion_miles or r.award_miles])
    for key, req in first.items():
        if key in recorded and quote:
            error = Conflict(f"coupon {key[0]}/{key[1]} was accrued already", code="coupon_already_accrued")
            results[req.index] = CouponResult(req.index, CONFLICT, error=error)
        elif key in recorded:
            record = recorded[key]
            results[req.index] = _replay(book, req.index, record, req.digest, bonuses.get(record.id, []))
        else:
            fresh.append(req)

    planned, states, desk = _plan(
        uow, book, clock, fresh, results, carriers, hold_above, lock=not quote, lock_budgets=locked_budgets
    )
    if quote:
        for p in planned:
            view = earned_view(
                p.programme, 0, p.member.member_number, p.earning, p.balance_after, p.promotions
            )
            results[p.request.index] = CouponResult(p.request.index, QUOTED, accrual=view)
    else:
        write_accruals(uow, book.metric_codes, planned, states, desk, channel)
    for p in planned:
        if not quote:
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


def _bonuses(uow: UnitOfWork, accrual_ids: list[int]) -> dict[int, list[PromotionMiles]]:
    """The promotions recorded accruals earned, for their replays."""
    awards = uow.promotion_awards.of_accruals(accrual_ids) if accrual_ids else {}
    return {aid: [PromotionMiles(a.code, a.miles) for a in found] for aid, found in awards.items()}


def _period(programme: Programme, coupon: FlightCoupon, state_period: date | None) -> Period:
    return programme.qualification.period_for(coupon.departure_date, state_period)


def _plan(
    uow: UnitOfWork,
    book: ProgrammeBook,
    clock: Clock,
    fresh: list[CouponRequest],
    results: dict[int, CouponResult],
    carriers: dict[int, CarrierRule],
    hold_above: int | None = None,
    lock: bool = True,
    lock_budgets: bool = True,
) -> tuple[list[Planned], dict[int, Standing], PromotionDesk]:
    if not fresh:
        return [], {}, PromotionDesk([], {})
    codes = book.metric_codes
    coupons = [req.coupon for req in fresh if req.coupon is not None]
    numbers = sorted({c.member_number for c in coupons})
    fixed = {
        _period(p, c, None).start
        for c in coupons
        if not (p := book.in_force(c.departure_date)).qualification.rolling
    }
    rolling = any(book.in_force(c.departure_date).qualification.rolling for c in coupons)
    # the usual case, one period: the members' totals of it come with them
    members = uow.members.lock_many(
        numbers, next(iter(fixed)) if len(fixed) == 1 and not rolling else None, lock=lock
    )
    stored = {(m.id, m.totals_period): m.totals for m in members.values()}
    if len(fixed) > 1 or (fixed and rolling):
        stored |= uow.members.totals([m.id for m in members.values()], sorted(fixed))
    capped = {
        req.coupon.ticket_number
        for req in fresh
        if req.coupon is not None and carriers[req.index].cap_per_ticket is not None
    }
    ticket_miles = uow.accruals.ticket_award_miles(sorted(capped)) if capped else {}
    now = clock.now()
    desk = PromotionDesk.open(
        uow,
        [(r.coupon, carriers[r.index]) for r in fresh if r.coupon is not None],
        list(members.values()),
        now,
        lock and lock_budgets,
    )
    states: dict[int, Standing] = {}
    planned: list[Planned] = []
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
            state = Standing(
                s.tier, s.tier_valid_until, s.lifetime_tier, s.lifetime_total, s.period_start, member.balance
            )
            states[member.id] = state
        programme = book.in_force(coupon.departure_date)
        period = _period(programme, coupon, state.period_start)
        totals = state.totals.get(period.start)
        if totals is None:
            totals = metric_mapping(codes, stored.get((member.id, period.start)))
        ticket = coupon.ticket_number
        standing = MemberStanding(
            tier=state.tier,
            tier_valid_until=state.valid_until,
            lifetime_tier=state.lifetime_tier,
            lifetime_total=state.lifetime_total,
            period=period,
            totals=totals,
            ticket_award_miles=state.tickets.get(ticket, ticket_miles.get(ticket, 0)),
        )
        day = today(clock, programme.timezone)
        try:
            earning = earn(programme, carriers[req.index], coupon, standing, day)
        except InvalidInput as exc:
            results[req.index] = CouponResult(req.index, REJECTED, error=exc)
            continue
        facts = coupon_facts(coupon, carriers[req.index], earning.distance_miles, earning.base_miles)
        activity = max(
            (d for d in (member.last_activity_date, state.activity) if d is not None), default=None
        )
        enrolled = local_date(member.created_at, programme.timezone)
        key = (coupon.ticket_number, coupon.coupon_number)
        evaluated = desk.evaluate(member, state.tier, enrolled, activity, facts, now, key)
        if evaluated is not None and evaluated.outcome.awards:
            metric_bonus: dict[str, Decimal] = {}
            for award in evaluated.outcome.awards:
                if award.metric is not None:
                    metric_bonus[award.metric] = metric_bonus.get(award.metric, Decimal(0)) + award.amount
            earning = with_promotions(
                programme, earning, standing, evaluated.outcome.miles, metric_bonus, day
            )
        if hold_above is not None and earning.award_miles > hold_above:
            results[req.index] = CouponResult(req.index, HELD, held_miles=earning.award_miles)
            continue
        desk.accept(member, key, evaluated)
        _post(state, programme, coupon, standing, earning)
        lines = (
            [PromotionMiles(a.promotion.code, a.miles) for a in evaluated.outcome.awards] if evaluated else []
        )
        planned.append(Planned(req, coupon, member, programme, earning, state.balance, lines))
    return planned, states, desk


def _post(
    state: Standing, programme: Programme, coupon: FlightCoupon, standing: MemberStanding, e: FlightEarning
) -> None:
    """The member's standing once the coupon is posted, for the request's next coupons."""
    state.tier, state.valid_until, state.lifetime_tier = (
        e.tier_after,
        e.tier_valid_until_after,
        e.lifetime_tier_after,
    )
    metric = programme.qualification.lifetime_metric
    if metric is not None:
        state.lifetime_total += e.credits.get(metric, Decimal(0))
        state.lifetime_delta += e.credits.get(metric, Decimal(0))
    state.balance += e.award_miles
    state.activity = max(state.activity or coupon.departure_date, coupon.departure_date)
    state.totals[e.period.start] = {
        code: standing.totals.get(code, Decimal(0)) + e.credits.get(code, Decimal(0)) for code in e.credits
    }
    if e.period_restarts_date is not None:
        if e.period_restarts_date == e.period.start:
            event_at = start_of_day(coupon.departure_date, programme.timezone)
            state.restarts.append((e.period.start, state.totals[e.period.start], event_at))
        state.period_start, state.period_changed = e.period_restarts_date, True
        state.totals[e.period_restarts_date] = {code: Decimal(0) for code in e.credits}
    state.tickets[coupon.ticket_number] = standing.ticket_award_miles + e.base_miles + e.tier_bonus_miles
