"""Recording partner activities (one, a batch, a file's chunk): each earns by its partner's contract, posts
at once when its pending period is over and waits pending otherwise. Idempotent on the partner's
`activity_id`: the same activity again answers as recorded; another body under the same id is a 409."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from miles.adapters.db.partners.activities import NewPartnerActivity, StoredActivity, credits_json
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import Conflict, CouponRaced, InvalidInput, MilesError, NotFound
from miles.domain.expiry import lot_expires_date
from miles.domain.ledger import ACCRUAL_PARTNER
from miles.domain.lots import check_not_born_expired
from miles.domain.member_numbers import validate_member_number
from miles.domain.partners.contracts import PartnerContract
from miles.domain.partners.earning import PartnerActivity, earn_activity
from miles.domain.programme.model import ExpiryKind, Programme
from miles.programme.reading import ProgrammeBook
from miles.services.accruals import retry_raced
from miles.services.clock import Clock, start_of_day, today
from miles.services.partners.credits import PostedCredit, credit_posted, parse_credits
from miles.services.partners.views import ActivityView, activity_view
from miles.services.promotions.partner_bonuses import PartnerDesk, PostedActivity
from miles.services.runtime import Runtime

CREATED, REPLAYED, ERROR = "created", "replayed", "error"
CENT = Decimal("0.01")
MAX_BATCH = 10_000


@dataclass(frozen=True)
class ActivityRequest:
    index: int
    activity: PartnerActivity | None  # None when the edge already refused the item
    error: MilesError | None = None


@dataclass(frozen=True)
class ActivityResult:
    index: int
    status: str  # created | replayed | error
    activity: ActivityView | None = None
    error: MilesError | None = None


def activity_digest(activity: PartnerActivity) -> str:
    """The activity's fingerprint, whatever path it came by (API, batch or file): the same activity sent
    again matches (an amount of 10, 10.0 or 10.00 is the same amount)."""
    a = activity
    amount = a.amount.quantize(CENT) if a.amount is not None else None
    fields = (
        a.member_number,
        a.activity_id,
        a.activity_date,
        a.kind,
        a.category,
        a.nights,
        a.days,
        amount,
        a.currency,
    )
    body = "\x1f".join("" if v is None else str(v) for v in fields)
    return hashlib.sha256(body.encode()).hexdigest()


def programme_now(book: ProgrammeBook, clock: Clock) -> Programme:
    """The book's rules in force today, in the programme's time zone."""
    return book.in_force(today(clock, book.timezone))


def contract_of(programme: Programme, partner: str) -> PartnerContract:
    contract = programme.partners.get(partner)
    if contract is None:
        raise NotFound(f"no partner {partner!r} in the programme", code="partner_not_found")
    return contract


def record_activities(
    runtime: Runtime, partner: str, requests: list[ActivityRequest], channel: str
) -> list[ActivityResult]:
    """One result per request, in order, all in one transaction (run again afresh if a concurrent request
    recorded one of the same activities meanwhile)."""
    return retry_raced(runtime.uow, lambda uow: record_in(uow, runtime, partner, requests, channel))


def _conflict(stored: StoredActivity) -> Conflict:
    return Conflict(
        f"activity {stored.activity_id} of {stored.partner} was already recorded with another body",
        field="activity_id",
        code="activity_conflict",
    )


def record_in(
    uow: UnitOfWork, runtime: Runtime, partner: str, requests: list[ActivityRequest], channel: str
) -> list[ActivityResult]:
    """The use case in the caller's unit of work (may raise CouponRaced: see `record_activities`)."""
    book = runtime.catalog.current(uow)
    programme = programme_now(book, runtime.clock)
    contract = contract_of(programme, partner)
    programme_today = today(runtime.clock, programme.timezone)
    partner_today = today(runtime.clock, contract.timezone)
    results: dict[int, ActivityResult] = {}
    valid: list[tuple[ActivityRequest, PartnerActivity, str]] = []
    good_numbers: set[str] = set()
    for request in requests:
        if request.activity is None:
            results[request.index] = ActivityResult(request.index, ERROR, error=request.error)
            continue
        number = request.activity.member_number
        if number not in good_numbers:  # a file's chunk names each member many times
            try:
                validate_member_number(number)
            except InvalidInput as exc:
                results[request.index] = ActivityResult(request.index, ERROR, error=exc)
                continue
            good_numbers.add(number)
        valid.append((request, request.activity, activity_digest(request.activity)))
    stored = uow.partner_activities.find(partner, sorted({a.activity_id for _, a, _ in valid}))
    numbers = sorted({a.member_number for _, a, _ in valid if a.activity_id not in stored})
    members = uow.members.lock_accounts(numbers) if numbers else {}
    # under the members' locks: what the partner credited them for each day of these activities so far
    day_miles = uow.partner_activities.miles_by_day(
        partner,
        sorted(
            {
                (members[a.member_number][0], a.activity_date)
                for _, a, _ in valid
                if a.member_number in members
            }
        ),
    )
    new: list[tuple[int, NewPartnerActivity, str]] = []
    first: dict[str, str] = {}  # digest of the batch's first item of each new activity id
    expiries: dict[date, date] = {}  # lot expiry by activity date (a file's chunk has thousands of one day)
    for request, activity, digest in valid:
        index = request.index
        known = stored.get(activity.activity_id)
        if known is not None:
            if known.request_digest != digest:
                results[index] = ActivityResult(index, ERROR, error=_conflict(known))
            else:
                results[index] = ActivityResult(index, REPLAYED, activity=activity_view(known, contract))
            continue
        if activity.activity_id in first:
            if first[activity.activity_id] != digest:
                twice = Conflict(
                    f"activity {activity.activity_id} is twice in this request with different bodies",
                    field="activity_id",
                    code="activity_conflict",
                )
                results[index] = ActivityResult(index, ERROR, error=twice)
            else:
                results[index] = ActivityResult(index, REPLAYED)  # filled in below, once recorded
            continue
        member = members.get(activity.member_number)
        if member is None:
            missing = NotFound(
                f"no member {activity.member_number}", field="member_number", code="member_not_found"
            )
            results[index] = ActivityResult(index, ERROR, error=missing)
            continue
        try:
            earning = earn_activity(
                contract,
                activity,
                programme.rates,
                programme.currency,
                partner_today,
                programme.claim_max_months,
            )
            expires = None
            if programme.expiry.kind is ExpiryKind.LOTS:
                expires = expiries.get(activity.activity_date)
                if expires is None:
                    expires = lot_expires_date(activity.activity_date, programme.expiry.months)
                    expiries[activity.activity_date] = expires
                check_not_born_expired(expires, programme_today, field="activity_date")
        except InvalidInput as exc:
            results[index] = ActivityResult(index, ERROR, error=exc)
            continue
        day = (member[0], activity.activity_date)
        credited = day_miles.get(day, 0)
        if credited + earning.miles > contract.member_daily_limit:
            over = InvalidInput(
                f"{contract.name} may credit member {activity.member_number} at most "
                f"{contract.member_daily_limit:,} miles for one day's activity: {credited:,} are recorded "
                f"for {activity.activity_date}",
                field="member_number",
                code="daily_limit_reached",
            )
            results[index] = ActivityResult(index, ERROR, error=over)
            continue
        day_miles[day] = credited + earning.miles
        first[activity.activity_id] = digest
        status = "pending" if earning.pending_on(programme_today) else "posted"
        row = NewPartnerActivity(
            member_id=member[0],
            account_id=member[1],
            activity_id=activity.activity_id,
            request_digest=digest,
            activity_date=activity.activity_date,
            kind=earning.kind,
            category=activity.category,
            nights=activity.nights,
            days=activity.days,
            amount=activity.amount,
            currency=activity.currency,
            amount_value=earning.amount_value,
            miles=earning.miles,
            credits=credits_json(dict(earning.credits)),
            status=status,
            posts_on=earning.posts_on,
            event_at=start_of_day(activity.activity_date, programme.timezone),
            lot_expires_date=expires,
        )
        new.append((index, row, activity.member_number))
    if new:
        source = uow.ledger.programme_account(ACCRUAL_PARTNER, new[0][1].member_id)
        posting = [r for _, r, _ in new if r.status == "posted"]
        desk = None
        if posting:
            uow.partner_activities.settlement_lock([partner])
            paying = [r for r in posting if r.miles > 0]
            desk = PartnerDesk.open(
                uow,
                [r.member_id for r in paying],
                [r.activity_date for r in paying],
                uow.now,
                programme.timezone,
            )
        rows = [r for _, r, _ in new]
        ids = uow.partner_activities.record(partner, channel, programme_today, source, rows, uow.now)
        if len(ids) != len(new):
            raise CouponRaced(
                "an activity of this request was sent by another request at the same moment: try again"
            )
        credit_posted(
            uow,
            programme,
            book.metric_codes,
            [
                PostedCredit(
                    ids[r.activity_id], r.member_id, r.activity_date, parse_credits(r.credits), r.event_at
                )
                for _, r, _ in new
                if r.status == "posted" and r.credits
            ],
        )
        if desk is not None:
            desk.award(
                uow,
                [
                    PostedActivity(
                        ids[r.activity_id],
                        r.member_id,
                        r.account_id,
                        partner,
                        r.kind,
                        r.activity_date,
                        r.miles,
                        r.event_at,
                        r.lot_expires_date,
                    )
                    for r in posting
                ],
                uow.now,
            )
        for index, row, number in new:
            if row.status == "posted" and row.miles > 0:
                uow.ledger.add_balance_change(source, -row.miles)
                uow.ledger.add_balance_change(row.account_id, row.miles)
            view = ActivityView(
                partner=partner,
                partner_name=contract.name,
                activity_id=row.activity_id,
                member_number=number,
                activity_date=row.activity_date,
                kind=row.kind,
                miles=row.miles,
                status=row.status,
                posts_on=row.posts_on if row.status == "pending" else None,
            )
            results[index] = ActivityResult(index, CREATED, activity=view)
        created = {
            r.activity.activity_id: r.activity for r in results.values() if r.status == CREATED and r.activity
        }
        for index, result in list(results.items()):
            if result.status == REPLAYED and result.activity is None:
                request_activity = next(a for req, a, _ in valid if req.index == index)
                results[index] = ActivityResult(
                    index, REPLAYED, activity=created[request_activity.activity_id]
                )
    return [results[r.index] for r in requests]
