"""Promotions inside the accrual, in its transaction: the desk is opened once per request after the
members are locked (their use of the promotions its coupons can meet read, and those promotions' budgets),
evaluates each coupon as it is planned, and writes the bonuses once the accruals have their ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from miles.adapters.db.members import MemberRecord
from miles.adapters.db.promotions.awards import NewAward, SegmentRow, UseRow
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.coupons import FlightCoupon
from miles.domain.distance import distance_miles
from miles.domain.programme.carriers import CarrierRule
from miles.domain.promotions.coupon_index import CouponIndex
from miles.domain.promotions.evaluation import (
    NOT_BY_COUPON,
    CouponFacts,
    CouponOutcome,
    MemberFacts,
    Progress,
    evaluate_coupon,
    matches,
)
from miles.domain.promotions.model import Promotion, Trigger

PROMOTION = "promotion"  # the programme account promotion miles come from


def coupon_facts(coupon: FlightCoupon, carrier: CarrierRule, distance: int, base_miles: int) -> CouponFacts:
    return CouponFacts(
        carrier=carrier.code,
        origin=coupon.origin,
        destination=coupon.destination,
        cabin=carrier.classes[coupon.booking_class].cabin,
        booking_class=coupon.booking_class,
        distance_miles=distance,
        departure_date=coupon.departure_date,
        base_miles=base_miles,
    )


@dataclass
class _MemberUse:
    progress: dict[int, Progress]
    registrations: dict[int, date]
    has_earned: bool
    touched: set[int] = field(default_factory=set)  # promotion ids whose use changed


_NOTHING = CouponOutcome((), ())


@dataclass(frozen=True)
class Evaluated:
    """A coupon's outcome, not yet counted: the member's use and the budgets as they would be after it."""

    outcome: CouponOutcome
    progress: dict[int, Progress]
    budgets: dict[int, int]


@dataclass
class PromotionDesk:
    promotions: list[Promotion]
    budgets: dict[int, int]  # miles left in the budgets reached (locked when read, else by `write`)
    spent: dict[int, int] = field(default_factory=dict)
    members: dict[int, _MemberUse] = field(default_factory=dict)
    awards: list[tuple[int, tuple[str, int], CouponOutcome]] = field(default_factory=list)
    # the promotions each coupon (ticket, coupon number) meets, found when the desk was opened
    met: dict[tuple[str, int], list[Promotion]] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        uow: UnitOfWork,
        coupons: list[tuple[FlightCoupon, CarrierRule]],
        members: list[MemberRecord],
        posted_at: datetime,
        lock: bool = True,
    ) -> PromotionDesk:
        """The desk for a request's coupons (the members already locked by this transaction; without
        `lock`, for a quote, nothing is locked)."""
        if not coupons or not members:
            return cls([], {})
        days = [c.departure_date for c, _ in coupons]
        live = [
            p for p in uow.campaigns.live(min(days), max(days), posted_at) if p.trigger not in NOT_BY_COUPON
        ]
        # only the promotions one of these coupons can meet (window and conditions; the audience and the
        # limits are the evaluation's) are read, and their budgets (with `lock`, locked): a coupon that
        # meets none reads nothing more
        reach, met = _in_reach(live, coupons)
        if not reach:
            return cls([], {})
        ids = sorted(m.id for m in members)
        enrolment = any(p.trigger is Trigger.ENROLMENT for p in reach)
        budgeted = [p.id for p in reach if p.limits.budget_miles is not None]
        locked_budgets = uow.promotion_awards.lock_budgets(budgeted) if lock else {}
        use, budgets, earned = uow.promotion_awards.desk_state(
            ids, [p.id for p in reach], [] if lock else budgeted, enrolment
        )
        desk = cls(reach, locked_budgets if lock else budgets, met=met)
        for m in members:
            desk.members[m.id] = _MemberUse({}, {}, m.id in earned)
        for (member_id, promotion_id), row in use.items():  # the reached promotions' rows only
            mine = desk.members[member_id]
            mine.progress[promotion_id] = Progress(row.miles, row.times, row.segments, row.runs)
            if row.registered_on is not None:
                mine.registrations[promotion_id] = row.registered_on
        return desk

    def evaluate(
        self,
        member: MemberRecord,
        tier: str,
        enrolled_date: date,
        last_activity: date | None,
        facts: CouponFacts,
        posted_at: datetime,
        key: tuple[str, int],
    ) -> Evaluated | None:
        """What the coupon earns, to `accept` (nothing is counted until then); None: no promotion runs.
        `key`: the coupon's (ticket, coupon number), whose promotions met the opening found."""
        if not self.promotions or facts.base_miles <= 0:
            return None
        mine = self.members[member.id]
        candidates = self.met.get(key, [])
        if not candidates:  # an earning coupon all the same (an enrolment bonus is for the first one)
            return Evaluated(_NOTHING, mine.progress, self.budgets)
        progress, budgets = dict(mine.progress), dict(self.budgets)  # Progress values are immutable
        who = MemberFacts(tier, enrolled_date, last_activity, mine.has_earned, mine.registrations)
        outcome = evaluate_coupon(candidates, facts, who, progress, budgets, posted_at)
        return Evaluated(outcome, progress, budgets)

    def accept(self, member: MemberRecord, key: tuple[str, int], evaluated: Evaluated | None) -> None:
        """Count the coupon's outcome: the member's use and the budgets move; its awards wait for `write`."""
        if evaluated is None:
            return
        outcome, progress, budgets = evaluated.outcome, evaluated.progress, evaluated.budgets
        mine = self.members[member.id]
        mine.has_earned = True
        mine.touched |= {a.promotion.id for a in outcome.awards} | set(outcome.counted)
        mine.progress = progress
        for award in outcome.awards:  # a budget moves only by the miles of its promotion's awards (`apply`)
            pid = award.promotion.id
            if pid in budgets:
                self.spent[pid] = self.spent.get(pid, 0) + award.miles
        self.budgets = budgets
        if outcome.awards or outcome.counted:
            self.awards.append((member.id, key, outcome))

    def write(
        self,
        uow: UnitOfWork,
        accrual_ids: dict[tuple[str, int], int],
        accounts: dict[int, int],
        dates: dict[tuple[str, int], tuple[datetime, date, date | None]],
    ) -> None:
        """Write the bonuses of the accepted coupons: transfers, lots, awards, use and budgets.
        `accounts`: each member's account; `dates`: each coupon's event instant, earning and expiry dates.

        Budgets read without a lock are locked by the write that spends them (in id order,
        held only until the commit that follows), and their CHECK refuses a spend past what is left: then
        BudgetMoved, and the use case runs again with the budgets locked from the start. What was planned
        stands as long as it fits: an award cut by a budget spent it whole, so a budget spent meanwhile no
        longer holds it."""
        rows: list[NewAward] = []
        counted: list[SegmentRow] = []
        for member_id, key, outcome in self.awards:
            counted += [
                SegmentRow(pid, accrual_ids[key], member_id, pid in outcome.completed)
                for pid in outcome.counted
            ]
            source = uow.ledger.programme_account(PROMOTION, member_id)
            event_at, earned, expires = dates[key]
            for a in outcome.awards:
                rows.append(
                    NewAward(
                        promotion_id=a.promotion.id,
                        member_id=member_id,
                        account_id=accounts[member_id],
                        source_account_id=source,
                        accrual_id=accrual_ids[key],
                        birthday_year=None,
                        miles=a.miles,
                        metric=a.metric,
                        amount=a.amount if a.metric is not None else None,
                        event_at=event_at,
                        earned_date=earned,
                        expires_date=expires,
                    )
                )
                if a.miles:
                    uow.ledger.add_balance_change(source, -a.miles)
        use = [
            UseRow(pid, mid, mine.registrations.get(pid), p.miles, p.times, p.segments, p.runs)
            for mid, mine in sorted(self.members.items())
            for pid in sorted(mine.touched)
            if (p := mine.progress[pid]) is not None
        ]
        uow.promotion_awards.record(rows, counted, use, self.spent)


_INDEXES: dict[tuple[int, ...], tuple[list[Promotion], CouponIndex]] = {}
_INDEXES_KEPT = 64


def index_of(promotions: list[Promotion]) -> CouponIndex:
    """The coupon index of these promotions, built once per process for as long as they are the live
    ones: the campaigns are decoded once per process while their table holds, so every request gets the
    same objects (the entry keeps them, so their identities are not reused)."""
    key = tuple(map(id, promotions))
    held = _INDEXES.get(key)
    if held is None:
        if len(_INDEXES) >= _INDEXES_KEPT:
            _INDEXES.clear()
        held = _INDEXES[key] = (list(promotions), CouponIndex(promotions))
    return held[1]


def _in_reach(
    live: list[Promotion], coupons: list[tuple[FlightCoupon, CarrierRule]]
) -> tuple[list[Promotion], dict[tuple[str, int], list[Promotion]]]:
    """The live promotions one of the coupons departs within the window of and meets every condition of
    (its flown distance is the one its earning will have), in their order; and those each coupon meets,
    by (ticket, coupon number), in that order (the evaluation tests them again, with the audience and the
    limits; a key sent twice with other facts gets what either meets). A coupon that cannot earn (a class or
    an airport its carrier does not know) meets none."""
    met: dict[tuple[str, int], list[Promotion]] = {}
    if not live:
        return [], met
    index = index_of(live)
    reached: set[int] = set()
    for coupon, carrier in coupons:
        facts = _facts_before_earning(coupon, carrier)
        if facts is None:
            continue
        day = coupon.departure_date
        mine = [p for p in index.candidates(facts) if p.in_window(day) and matches(p, facts)]
        reached.update(p.id for p in mine)
        key = (coupon.ticket_number, coupon.coupon_number)
        if key in met:  # the same key twice in one request: what either meets, in the live order
            either = {p.id for p in met[key]} | {p.id for p in mine}
            mine = [p for p in live if p.id in either]
        met[key] = mine
    return [p for p in live if p.id in reached], met


def _facts_before_earning(coupon: FlightCoupon, carrier: CarrierRule) -> CouponFacts | None:
    """A coupon's facts before it is earned: its distance (as earning measures it), no miles yet."""
    if coupon.booking_class not in carrier.classes:
        return None
    try:
        distance = distance_miles(coupon.origin, coupon.destination)
    except KeyError:  # not an airport: the coupon is refused before it earns
        return None
    return coupon_facts(coupon, carrier, distance, 1)
