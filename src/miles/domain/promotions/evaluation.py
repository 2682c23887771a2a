"""Which promotions a coupon earns and how many miles each gives, within their limits.

A coupon qualifies for a promotion when it departs within the promotion's window, the promotion was not
ended before the coupon is posted, every condition matches, the member is in the audience when the
coupon is posted and, where registration is required, registered on or before the departure date. Only
earning coupons (base miles > 0) earn promotions or count in challenges. Limits cut a bonus down to
what is left; in a stacking group the promotion giving the most miles wins (then the larger metric
bonus, the earlier start, the smaller id); groups stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from miles.domain.calendar import add_months
from miles.domain.promotions.model import EffectKind, Promotion, Trigger


@dataclass(frozen=True)
class CouponFacts:
    carrier: str  # the carrier whose rules earn the coupon
    origin: str
    destination: str
    cabin: str
    booking_class: str
    distance_miles: int
    departure_date: date
    base_miles: int


@dataclass(frozen=True)
class ActivityFacts:
    """A partner activity whose miles post now."""

    partner: str
    kind: str
    activity_date: date
    miles: int  # the activity's own miles: the base of a multiplier or a percent


@dataclass(frozen=True)
class MemberFacts:
    tier: str  # when the coupon is posted
    enrolled_date: date
    last_activity_date: date | None  # before this coupon
    has_earned: bool = False  # an earning coupon was posted before this one
    registrations: Mapping[int, date] = field(default_factory=dict)  # promotion id -> registered on


@dataclass(frozen=True)
class Progress:
    """A member's use of one promotion so far (replaced, never changed: a shallow copy of a member's
    progress is a snapshot)."""

    miles: int = 0  # promotion miles awarded
    times: int = 0  # bonuses awarded
    segments: int = 0  # challenges: qualifying earning segments counted
    runs: int = 0  # challenges: runs completed, whether their bonus was paid, won its group or not


NO_PROGRESS = Progress()
NOT_BY_COUPON = frozenset({Trigger.BIRTHDAY, Trigger.PARTNER})  # earned otherwise than by a flown coupon


@dataclass(frozen=True)
class Award:
    promotion: Promotion
    miles: int
    metric: str | None = None
    amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class CouponOutcome:
    awards: tuple[Award, ...]
    counted: tuple[int, ...]  # the challenges whose count this coupon advanced
    completed: tuple[int, ...] = ()  # the challenges whose run this coupon completed

    @property
    def miles(self) -> int:
        return sum(a.miles for a in self.awards)


def birthday_on(birth_date: date, day: date) -> bool:
    """The member's birthday is `day`: 29 February counts on 28 February in other years."""
    if (birth_date.month, birth_date.day) == (day.month, day.day):
        return True
    leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
    return (birth_date.month, birth_date.day) == (2, 29) and not leap and (day.month, day.day) == (2, 28)


def matches(promotion: Promotion, coupon: CouponFacts) -> bool:
    """Every non-empty condition of the promotion matches the coupon."""
    c = promotion.conditions
    return (
        (not c.carriers or coupon.carrier in c.carriers)
        and (not c.routes or (coupon.origin, coupon.destination) in c.routes)
        and (not c.origins or coupon.origin in c.origins)
        and (not c.destinations or coupon.destination in c.destinations)
        and (not c.cabins or coupon.cabin in c.cabins)
        and (not c.booking_classes or coupon.booking_class in c.booking_classes)
        and (c.min_distance is None or coupon.distance_miles >= c.min_distance)
    )


def in_audience(promotion: Promotion, member: MemberFacts, day: date) -> bool:
    """The member is in the promotion's audience on `day` (tier then, inactivity before then)."""
    a = promotion.audience
    if a.tiers and member.tier not in a.tiers:
        return False
    if a.inactive_for_months is not None:
        last = member.last_activity_date or member.enrolled_date
        if add_months(last, a.inactive_for_months) > day:
            return False
    if a.enrolled_within_days is not None:
        if (day - member.enrolled_date).days > a.enrolled_within_days:
            return False
    if promotion.registration_required:
        registered = member.registrations.get(promotion.id)
        if registered is None or day < registered:
            return False
    return True


def left(promotion: Promotion, progress: Progress, budget_left: int | None) -> tuple[int | None, bool]:
    """The miles the member may still get from the promotion (None: no limit) and whether one more
    bonus is allowed at all (per-member times)."""
    lim = promotion.limits
    times_ok = lim.per_member_times is None or progress.times < lim.per_member_times
    caps = [c for c in (budget_left,) if c is not None]
    if lim.per_member_miles is not None:
        caps.append(max(lim.per_member_miles - progress.miles, 0))
    return (min(caps) if caps else None), times_ok


def cut(promotion: Promotion, miles: int, progress: Progress, budget_left: int | None) -> Award | None:
    """The bonus within the limits (partially when little is left), or None when nothing is left."""
    room, times_ok = left(promotion, progress, budget_left)
    if not times_ok:
        return None
    effect = promotion.effect
    if effect.kind is EffectKind.METRIC:
        assert effect.amount is not None
        return Award(promotion, 0, effect.metric, effect.amount)
    granted = miles if room is None else min(miles, room)
    return Award(promotion, granted) if granted > 0 else None


def best_per_group(candidates: Iterable[Award]) -> tuple[Award, ...]:
    """One award per stacking group: the most miles, then the larger metric bonus, the earlier start,
    the smaller id. In the order of the winners' ids."""
    best: dict[str, Award] = {}
    for award in candidates:
        held = best.get(award.promotion.group)
        if held is None or _key(award) < _key(held):
            best[award.promotion.group] = award
    return tuple(sorted(best.values(), key=lambda a: a.promotion.id))


def _key(award: Award) -> tuple[int, Decimal, date, int]:
    return (-award.miles, -award.amount, *award.promotion.rank)


def evaluate_coupon(
    promotions: Iterable[Promotion],
    coupon: CouponFacts,
    member: MemberFacts,
    progress: dict[int, Progress],
    budgets: dict[int, int],
    posted_at: datetime,
) -> CouponOutcome:
    """The promotions a coupon earns. Updates `progress` (the member's, by promotion id) and `budgets`
    (miles left by promotion id, for the promotions with a budget) for the coupons posted after it."""
    if coupon.base_miles <= 0:
        return CouponOutcome((), ())
    candidates: list[Award] = []
    counted: list[int] = []
    completed: list[int] = []
    day = coupon.departure_date
    for p in promotions:
        if p.trigger in NOT_BY_COUPON or not p.runs_at(posted_at) or not p.in_window(day):
            continue
        tiers = p.audience.tiers  # the cheapest test first: the audience's tiers, then the conditions
        if (tiers and member.tier not in tiers) or not matches(p, coupon) or not in_audience(p, member, day):
            continue
        mine = progress.get(p.id, NO_PROGRESS)
        if p.trigger is Trigger.CHALLENGE:
            assert p.challenge is not None
            mine = progress[p.id] = Progress(mine.miles, mine.times, mine.segments + 1, mine.runs)
            counted.append(p.id)
            runs = mine.segments // p.challenge.segments
            if runs <= mine.runs or (not p.challenge.repeat and mine.runs > 0):
                continue
            # this coupon completes a run: settled, whatever the bonus becomes
            mine = progress[p.id] = Progress(mine.miles, mine.times, mine.segments, runs)
            completed.append(p.id)
        elif p.trigger is Trigger.ENROLMENT and (member.has_earned or mine.times > 0):
            continue
        award = cut(p, p.effect.miles_for(coupon.base_miles), mine, budgets.get(p.id))
        if award is not None:
            candidates.append(award)
    winners = best_per_group(candidates)
    for award in winners:
        apply(award, progress, budgets)
    return CouponOutcome(winners, tuple(counted), tuple(completed))


def evaluate_activity(
    promotions: Iterable[Promotion],
    activity: ActivityFacts,
    member: MemberFacts,
    progress: dict[int, Progress],
    budgets: dict[int, int],
    posted_at: datetime,
) -> CouponOutcome:
    """The partner promotions an activity earns when its miles post (its date within the window, its
    partner and kind matching, the member in the audience on that date), within limits, best of each
    stacking group. Updates `progress` and `budgets` as `evaluate_coupon` does."""
    if activity.miles <= 0:
        return CouponOutcome((), ())
    day = activity.activity_date
    candidates = []
    for p in promotions:
        if p.trigger is not Trigger.PARTNER or not p.runs_at(posted_at) or not p.in_window(day):
            continue
        c = p.conditions
        if (c.partners and activity.partner not in c.partners) or (
            c.activity_kinds and activity.kind not in c.activity_kinds
        ):
            continue
        if not in_audience(p, member, day):
            continue
        award = cut(p, p.effect.miles_for(activity.miles), progress.get(p.id, NO_PROGRESS), budgets.get(p.id))
        if award is not None:
            candidates.append(award)
    winners = best_per_group(candidates)
    for award in winners:
        apply(award, progress, budgets)
    return CouponOutcome(winners, ())


def apply(award: Award, progress: dict[int, Progress], budgets: dict[int, int]) -> None:
    """Count an award against the member's limits and the promotion's budget."""
    pid = award.promotion.id
    mine = progress.get(pid, NO_PROGRESS)
    progress[pid] = Progress(mine.miles + award.miles, mine.times + 1, mine.segments, mine.runs)
    if pid in budgets:
        budgets[pid] -= award.miles


def birthday_award(
    promotion: Promotion,
    birth_date: date,
    member: MemberFacts,
    day: date,
    progress: Progress,
    budget_left: int | None,
) -> Award | None:
    """The birthday bonus a member gets on `day` (the nightly run's date), or None."""
    if promotion.trigger is not Trigger.BIRTHDAY or not promotion.in_window(day):
        return None
    if not birthday_on(birth_date, day) or not in_audience(promotion, member, day):
        return None
    return cut(promotion, promotion.effect.miles_for(0), progress, budget_left)
