"""The flight promotions a coupon may earn, found through one of their conditions instead of testing every
live promotion on every coupon.

Each promotion is filed under the values of its most selective list condition (routes, then origins,
destinations, booking classes, cabins, carriers); one without any of them is offered for every coupon at
least as long as its minimum distance. The
index only leaves out promotions whose filing condition the coupon fails: what it offers still has its
window, every condition, its audience and its limits tested by the evaluation, in the promotions' order.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from miles.domain.promotions.evaluation import CouponFacts
from miles.domain.promotions.model import Conditions, Promotion

# the list conditions, most selective first, each with the coupon's value it tests
_FILED_BY: tuple[tuple[Callable[[Conditions], frozenset[object]], Callable[[CouponFacts], object]], ...] = (
    (lambda c: c.routes, lambda f: (f.origin, f.destination)),
    (lambda c: c.origins, lambda f: f.origin),
    (lambda c: c.destinations, lambda f: f.destination),
    (lambda c: c.booking_classes, lambda f: f.booking_class),
    (lambda c: c.cabins, lambda f: f.cabin),
    (lambda c: c.carriers, lambda f: f.carrier),
)


@dataclass(frozen=True)
class CouponIndex:
    promotions: Sequence[Promotion]
    _always: tuple[Promotion, ...] = field(init=False, repr=False)  # no list condition nor minimum distance
    _far: tuple[Promotion, ...] = field(init=False, repr=False)  # no list condition, by minimum distance
    _far_from: tuple[int, ...] = field(init=False, repr=False)  # their minimum distances, in that order
    _filed: tuple[tuple[Callable[[CouponFacts], object], dict[object, tuple[Promotion, ...]]], ...] = field(
        init=False, repr=False
    )
    _order: dict[int, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        always: list[Promotion] = []
        filed: list[dict[object, list[Promotion]]] = [{} for _ in _FILED_BY]
        for p in self.promotions:
            for by_value, (values_of, _) in zip(filed, _FILED_BY, strict=True):
                values = values_of(p.conditions)
                if values:
                    for value in values:
                        by_value.setdefault(value, []).append(p)
                    break
            else:
                always.append(p)
        far = sorted((p for p in always if p.conditions.min_distance is not None), key=_min_distance)
        object.__setattr__(self, "_always", tuple(p for p in always if p.conditions.min_distance is None))
        object.__setattr__(self, "_far", tuple(far))
        object.__setattr__(self, "_far_from", tuple(map(_min_distance, far)))
        object.__setattr__(
            self,
            "_filed",
            tuple(
                (value_of, {v: tuple(ps) for v, ps in by_value.items()})
                for by_value, (_, value_of) in zip(filed, _FILED_BY, strict=True)
                if by_value
            ),
        )
        object.__setattr__(self, "_order", {p.id: i for i, p in enumerate(self.promotions)})

    def candidates(self, coupon: CouponFacts) -> Sequence[Promotion]:
        """The promotions the coupon may earn, in the order they were given: a superset of those whose
        conditions it matches."""
        always: Sequence[Promotion] = self._always
        if self._far:
            near = bisect_right(self._far_from, coupon.distance_miles)  # those it is long enough for
            if near:
                always = [*always, *self._far[:near]]
        found: list[Promotion] | None = None
        for value_of, by_value in self._filed:
            hit = by_value.get(value_of(coupon))
            if hit:
                found = [*(found or always), *hit]
        if found is None:
            if always is self._always:
                return always
            found = list(always)
        found.sort(key=lambda p: self._order[p.id])
        return found


def _min_distance(p: Promotion) -> int:
    assert p.conditions.min_distance is not None
    return p.conditions.min_distance
