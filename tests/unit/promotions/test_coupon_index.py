"""The coupon index offers every promotion a coupon's conditions match, in the promotions' order, so that
evaluating its candidates gives what evaluating every live promotion gives."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from miles.domain.promotions.coupon_index import CouponIndex
from miles.domain.promotions.evaluation import CouponFacts, Progress, evaluate_coupon, matches
from miles.domain.promotions.model import (
    Challenge,
    Conditions,
    Effect,
    EffectKind,
    Limits,
    Promotion,
    Trigger,
)

from .test_evaluation import POSTED, coupon, member, promotion

AIRPORTS = ["JFK", "LHR", "CDG", "NRT"]
CLASSES = ["F", "J", "M", "Y"]
CABINS = ["first", "business", "economy"]
CARRIERS = ["YY", "ZZ"]


def subsets(values: list[str]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(values), max_size=2)


conditions = st.builds(
    Conditions,
    carriers=subsets(CARRIERS),
    routes=st.frozensets(st.tuples(st.sampled_from(AIRPORTS), st.sampled_from(AIRPORTS)), max_size=2),
    origins=subsets(AIRPORTS),
    destinations=subsets(AIRPORTS),
    cabins=subsets(CABINS),
    booking_classes=subsets(CLASSES),
    min_distance=st.none() | st.sampled_from([1000, 3000]),
)
coupons = st.builds(
    lambda carrier, origin, destination, cabin, booking_class, distance: coupon(
        carrier=carrier,
        origin=origin,
        destination=destination,
        cabin=cabin,
        booking_class=booking_class,
        distance_miles=distance,
    ),
    st.sampled_from(CARRIERS),
    st.sampled_from(AIRPORTS),
    st.sampled_from(AIRPORTS),
    st.sampled_from(CABINS),
    st.sampled_from(CLASSES),
    st.sampled_from([500, 2000, 5000]),
)


def campaign(pid: int, kind: int, group: str | None, limited: bool, where: Conditions) -> Promotion:
    trigger = [Trigger.FLIGHT, Trigger.FLIGHT, Trigger.CHALLENGE, Trigger.ENROLMENT][kind]
    return promotion(
        pid,
        trigger=trigger,
        conditions=where,
        effect=[
            Effect(EffectKind.FIXED, miles=100 * pid),
            Effect(EffectKind.MULTIPLIER, value=Decimal(2)),
        ][pid % 2],
        stacking_group=group,
        limits=Limits(budget_miles=700) if limited else Limits(),
        challenge=Challenge(2, repeat=True) if trigger is Trigger.CHALLENGE else None,
    )


campaigns = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from([None, "a", "b"]), st.booleans(), conditions),
    max_size=12,
).map(lambda specs: [campaign(i + 1, *spec) for i, spec in enumerate(specs)])


@settings(max_examples=300, deadline=None)
@given(campaigns, st.lists(coupons, min_size=1, max_size=6))
def test_evaluating_the_candidates_earns_what_evaluating_every_promotion_earns(
    live: list[Promotion], flown: list[CouponFacts]
) -> None:
    index = CouponIndex(live)
    progress_all: dict[int, Progress] = {}
    progress_indexed: dict[int, Progress] = {}
    budgets_all = {p.id: 700 for p in live if p.limits.budget_miles is not None}
    budgets_indexed = dict(budgets_all)
    for facts in flown:
        offered = index.candidates(facts)
        assert {p.id for p in live if matches(p, facts)} <= {p.id for p in offered}
        assert [p.id for p in offered] == sorted(p.id for p in offered)  # the given order: ids ascending
        expected = evaluate_coupon(live, facts, member(), progress_all, budgets_all, POSTED)
        got = evaluate_coupon(offered, facts, member(), progress_indexed, budgets_indexed, POSTED)
        assert got == expected
    assert (progress_indexed, budgets_indexed) == (progress_all, budgets_all)


def test_a_promotion_is_filed_under_its_most_selective_condition_only() -> None:
    to_london = promotion(
        1, conditions=Conditions(routes=frozenset({("JFK", "LHR")}), cabins=frozenset({"first"}))
    )
    first = promotion(2, conditions=Conditions(cabins=frozenset({"first"})))
    long_haul = promotion(3, conditions=Conditions(min_distance=3000))
    index = CouponIndex([to_london, first, long_haul])
    assert [p.id for p in index.candidates(coupon(cabin="first"))] == [1, 2, 3]
    # the route is what files the first: another route in first class is not offered it
    assert [p.id for p in index.candidates(coupon(origin="CDG", cabin="first"))] == [2, 3]
    # a promotion without list conditions is offered for every coupon as long as its minimum distance
    assert [p.id for p in index.candidates(coupon(origin="CDG", distance_miles=100))] == []
    assert [p.id for p in index.candidates(coupon(origin="CDG", distance_miles=3000))] == [3]
    anywhere = promotion(4)
    both = CouponIndex([to_london, first, long_haul, anywhere])
    assert [p.id for p in both.candidates(coupon(origin="CDG", distance_miles=100))] == [4]
    assert [p.id for p in both.candidates(coupon(cabin="first", distance_miles=5000))] == [1, 2, 3, 4]
