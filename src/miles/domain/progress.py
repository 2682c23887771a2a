"""Progress towards the next tier in the current qualification period, under any programme: of the
target tier's requirement sets (each an AND of `metric >= value`), the one closest to being met."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from miles.domain.programme.model import Programme
from miles.domain.programme.tiers import Requirement

ZERO = Decimal(0)


@dataclass(frozen=True)
class MetricProgress:
    code: str
    name: str
    value: Decimal  # the period's total so far
    needed: Decimal  # what the requirement set asks of this metric
    money: bool  # an amount in the accounting currency

    @property
    def to_go(self) -> Decimal:
        return max(ZERO, self.needed - self.value)

    @property
    def percent(self) -> int:
        """0..100, rounded down."""
        if self.needed <= 0:
            return 100
        return min(100, int(self.value * 100 // self.needed))


@dataclass(frozen=True)
class TierProgress:
    target: str  # the target tier's code
    target_name: str
    keeping: bool  # True: the member is at the top tier and this is what it takes to earn it again
    metrics: tuple[MetricProgress, ...]  # the closest requirement set's metrics, in its order
    percent: int  # 0..100: that set's least-advanced metric


def _set_progress(
    programme: Programme, requirement: Requirement, totals: Mapping[str, Decimal]
) -> tuple[int, tuple[MetricProgress, ...]]:
    metrics = []
    for code, needed in requirement.minimums.items():
        metric = programme.metric(code)
        metrics.append(
            MetricProgress(
                code=code,
                name=metric.name if metric is not None else code,
                value=totals.get(code, ZERO),
                needed=needed,
                money=metric.money if metric is not None else False,
            )
        )
    return min((m.percent for m in metrics), default=100), tuple(metrics)


def tier_progress(programme: Programme, tier: str, totals: Mapping[str, Decimal]) -> TierProgress | None:
    """Towards the lowest tier above both the member's tier (a code) and what the period's `totals`
    (by metric code) earn; at the top, towards earning the top tier again. Of the target's requirement
    sets, the closest to being met (ties: the first in the rules file). None for a programme whose
    ladder has a single tier."""
    ladder = programme.ladder
    if len(ladder.tiers) < 2:
        return None
    floor = ladder.higher(tier, ladder.earned(totals).code)
    above = ladder.above(floor)
    target = above[0] if above else ladder.tiers[-1]
    best: tuple[int, tuple[MetricProgress, ...]] = (0, ())
    for index, requirement in enumerate(target.requirements):
        candidate = _set_progress(programme, requirement, totals)
        if index == 0 or candidate[0] > best[0]:
            best = candidate
    return TierProgress(
        target=target.code,
        target_name=target.name,
        keeping=not above,
        metrics=best[1],
        percent=best[0],
    )
