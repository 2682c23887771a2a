"""Progress to the next tier this period: of the target's requirement sets, the one closest to being met."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from miles.domain.programme.model import Programme
from miles.domain.programme.tiers import Requirement, TierLadder
from miles.domain.progress import tier_progress


def totals(status_miles: int = 0, segments: int = 0, spend: str = "0") -> dict[str, Decimal]:
    return {"status_miles": Decimal(status_miles), "segments": Decimal(segments), "spend": Decimal(spend)}


def test_a_blue_member_is_measured_against_silver_by_the_closer_measure(programme: Programme) -> None:
    p = tier_progress(programme, "BLUE", totals(10_000, 21))
    assert p is not None
    assert (p.target, p.target_name, p.keeping) == ("SILVER", "Silver", False)
    assert p.percent == 70  # 21/30 beats 10,000/25,000
    [segments] = p.metrics
    assert (segments.code, segments.name, segments.money) == ("segments", "Segments", False)
    assert (segments.value, segments.needed, segments.to_go) == (21, 30, 9)


def test_status_miles_count_when_they_are_closer(programme: Programme) -> None:
    p = tier_progress(programme, "SILVER", totals(45_000, 3))
    assert p is not None
    assert (p.target, p.percent, [m.code for m in p.metrics]) == ("GOLD", 90, ["status_miles"])
    assert p.metrics[0].to_go == 5_000


def test_what_this_period_earned_already_sets_the_next_target(programme: Programme) -> None:
    p = tier_progress(programme, "BLUE", totals(30_000, 0))  # SILVER earned this year: GOLD is next
    assert p is not None
    assert (p.target, p.percent) == ("GOLD", 60)


def test_at_the_top_tier_progress_is_towards_keeping_it(programme: Programme) -> None:
    p = tier_progress(programme, "PLATINUM", totals(80_000, 10))
    assert p is not None
    assert (p.target, p.keeping, p.percent) == ("PLATINUM", True, 100)
    assert [(m.code, m.to_go) for m in p.metrics] == [("status_miles", 0)]


def with_silver_sets(programme: Programme, *sets: dict[str, str]) -> Programme:
    ladder = programme.ladder
    silver = replace(
        ladder.get("SILVER"),
        requirements=tuple(Requirement({k: Decimal(v) for k, v in s.items()}) for s in sets),
    )
    tiers = tuple(silver if t.code == "SILVER" else t for t in ladder.tiers)
    return replace(programme, ladder=TierLadder(tiers))


def test_a_set_of_several_metrics_is_as_far_as_its_least_advanced_metric(programme: Programme) -> None:
    # 25,000 status miles AND 3,000 spend, or 30 segments AND 3,000 spend
    both = with_silver_sets(
        programme, {"status_miles": "25000", "spend": "3000"}, {"segments": "30", "spend": "3000"}
    )
    p = tier_progress(both, "BLUE", totals(20_000, 12, "1500.50"))
    assert p is not None
    assert p.percent == 50  # min(80, 50) beats min(40, 50)
    assert [(m.code, m.to_go) for m in p.metrics] == [("status_miles", 5_000), ("spend", Decimal("1499.50"))]
    assert [m.money for m in p.metrics] == [False, True]


def test_sets_equally_close_go_to_the_first_in_the_file(programme: Programme) -> None:
    p = tier_progress(programme, "BLUE", totals(12_500, 15))  # 50 % either way
    assert p is not None
    assert (p.percent, [m.code for m in p.metrics]) == (50, ["status_miles"])


def test_a_programme_of_one_tier_has_no_progress(programme: Programme) -> None:
    single = replace(programme, ladder=TierLadder(programme.ladder.tiers[:1]))
    assert tier_progress(single, "BLUE", totals(80_000, 100)) is None
