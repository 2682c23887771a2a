"""Progress to the next tier this year: by status miles or segments, whichever is closer."""

from __future__ import annotations

from miles.domain.progress import tier_progress
from miles.domain.rules import Programme
from miles.domain.tiers import Tier


def test_a_blue_member_is_measured_against_silver_by_the_closer_measure(programme: Programme) -> None:
    p = tier_progress(programme, Tier.BLUE, 10_000, 21)
    assert p is not None
    assert (p.target, p.keeping) == (Tier.SILVER, False)
    assert (p.percent, p.closer) == (70, "segments")  # 21/30 beats 10,000/25,000
    assert (p.miles_to_go, p.segments_to_go) == (15_000, 9)


def test_status_miles_count_when_they_are_closer(programme: Programme) -> None:
    p = tier_progress(programme, Tier.SILVER, 45_000, 3)
    assert p is not None
    assert (p.target, p.percent, p.closer) == (Tier.GOLD, 90, "status miles")


def test_what_this_year_earned_already_sets_the_next_target(programme: Programme) -> None:
    p = tier_progress(programme, Tier.BLUE, 30_000, 0)  # SILVER earned this year: GOLD is next
    assert p is not None
    assert (p.target, p.percent) == (Tier.GOLD, 60)


def test_at_the_top_tier_progress_is_towards_keeping_it(programme: Programme) -> None:
    p = tier_progress(programme, Tier.PLATINUM, 80_000, 10)
    assert p is not None
    assert (p.target, p.keeping, p.percent, p.miles_to_go) == (Tier.PLATINUM, True, 100, 0)
