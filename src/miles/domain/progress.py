"""Progress towards the next tier in the current qualification year: status miles or segments,
whichever is closer."""

from __future__ import annotations

from dataclasses import dataclass

from miles.domain.rules import Programme
from miles.domain.tiers import Tier


@dataclass(frozen=True)
class TierProgress:
    target: Tier
    keeping: bool  # True: the member is at the top tier and this is what it takes to earn it again
    status_miles: int
    status_miles_needed: int
    segments: int
    segments_needed: int
    percent: int  # 0..100, of the closer measure
    closer: str  # "status miles" | "segments"

    @property
    def miles_to_go(self) -> int:
        return max(0, self.status_miles_needed - self.status_miles)

    @property
    def segments_to_go(self) -> int:
        return max(0, self.segments_needed - self.segments)


def tier_progress(programme: Programme, tier: Tier, status_miles: int, segments: int) -> TierProgress | None:
    """Towards the lowest tier above both the member's tier and what this year has earned; at the
    top, towards earning the top tier again. None for a programme without tiers."""
    if not programme.tiers:
        return None
    floor = max(tier, programme.tier_earned(status_miles, segments))
    above = [rule for rule in programme.tiers if rule.tier > floor]
    keeping = not above
    rule = above[0] if above else programme.tiers[-1]
    by_miles = min(status_miles * 100 // rule.status_miles, 100)
    by_segments = min(segments * 100 // rule.segments, 100)
    return TierProgress(
        target=rule.tier,
        keeping=keeping,
        status_miles=status_miles,
        status_miles_needed=rule.status_miles,
        segments=segments,
        segments_needed=rule.segments,
        percent=max(by_miles, by_segments),
        closer="segments" if by_segments > by_miles else "status miles",
    )
