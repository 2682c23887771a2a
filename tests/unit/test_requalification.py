"""The nightly requalification rule for one member (miles.domain.programme.requalification)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from miles.domain.programme.model import Programme
from miles.domain.programme.requalification import Standing, TierReason, nightly_standing

NIGHT = date(2028, 3, 1)


def standing(tier: str, valid: date | None, lifetime: str = "BLUE", lifetime_miles: int = 0) -> Standing:
    return Standing(tier, valid, lifetime, Decimal(lifetime_miles))


def year(y: int, status_miles: int, segments: int) -> dict[date, dict[str, Decimal]]:
    """The totals of the calendar year `y` (the reference programme's qualification period)."""
    return {
        date(y, 1, 1): {
            "status_miles": Decimal(status_miles),
            "segments": Decimal(segments),
            "spend": Decimal(0),
        }
    }


def upgrade_years(programme: Programme, run_date: date) -> list[int]:
    """The calendar years whose tier is still valid on the run date (they may still upgrade)."""
    return sorted(p.start.year for p in programme.qualification.upgrade_periods(run_date))


def test_soft_landing_platinum_with_nothing_earned_becomes_gold(programme: Programme) -> None:
    result = nightly_standing(programme, NIGHT, standing("PLATINUM", date(2028, 2, 29)), {})
    assert (result.tier, result.valid_until) == ("GOLD", date(2029, 2, 28))
    assert result.requalified
    assert result.reason is TierReason.SOFT_LANDING


def test_soft_landing_beats_a_lower_tier_earned(programme: Programme) -> None:
    result = nightly_standing(
        programme, NIGHT, standing("PLATINUM", date(2028, 2, 29)), year(2027, 25_000, 0)
    )
    assert result.tier == "GOLD"
    assert result.reason is TierReason.SOFT_LANDING


def test_requalifying_into_a_higher_tier(programme: Programme) -> None:
    result = nightly_standing(programme, NIGHT, standing("SILVER", date(2028, 2, 29)), year(2027, 75_000, 0))
    assert (result.tier, result.valid_until, result.reason) == (
        "PLATINUM",
        date(2029, 2, 28),
        TierReason.REQUALIFIED,
    )


def test_segments_alone_requalify(programme: Programme) -> None:
    result = nightly_standing(programme, NIGHT, standing("GOLD", date(2028, 2, 29)), year(2027, 0, 60))
    assert (result.tier, result.valid_until) == ("GOLD", date(2029, 2, 28))


def test_only_the_last_complete_year_requalifies(programme: Programme) -> None:
    result = nightly_standing(programme, NIGHT, standing("SILVER", date(2028, 2, 29)), year(2026, 80_000, 0))
    assert result.tier == "BLUE"
    assert result.valid_until is None


def test_lifetime_tier_is_a_floor(programme: Programme) -> None:
    result = nightly_standing(programme, NIGHT, standing("GOLD", date(2028, 2, 29), "GOLD", 1_100_000), {})
    assert (result.tier, result.valid_until, result.reason) == ("GOLD", None, TierReason.LIFETIME)


def test_lifetime_milestones(programme: Programme) -> None:
    gold = nightly_standing(programme, NIGHT, standing("BLUE", None, "BLUE", 1_000_000), {})
    platinum = nightly_standing(programme, NIGHT, standing("GOLD", None, "GOLD", 2_000_000), {})
    below = nightly_standing(programme, NIGHT, standing("BLUE", None, "BLUE", 999_999), {})
    assert (gold.tier, gold.lifetime_tier, gold.valid_until) == ("GOLD", "GOLD", None)
    assert (platinum.tier, platinum.lifetime_tier) == ("PLATINUM", "PLATINUM")
    assert below.reason is None


def test_lifetime_grant_below_a_higher_earned_tier_keeps_the_earned_tier(programme: Programme) -> None:
    result = nightly_standing(
        programme, NIGHT, standing("PLATINUM", date(2029, 2, 28), "BLUE", 1_000_000), {}
    )
    assert (result.tier, result.valid_until, result.lifetime_tier) == (
        "PLATINUM",
        date(2029, 2, 28),
        "GOLD",
    )
    assert result.reason is TierReason.LIFETIME


def test_february_boundary(programme: Programme) -> None:
    gold = standing("GOLD", date(2028, 2, 29))
    on_the_day = nightly_standing(programme, date(2028, 2, 29), gold, {})
    next_day = nightly_standing(programme, date(2028, 3, 1), gold, {})
    assert on_the_day.reason is None
    assert not on_the_day.requalified
    assert next_day.requalified
    assert next_day.tier == "SILVER"
    assert next_day.valid_until == date(2029, 2, 28)


def test_blue_has_no_valid_until(programme: Programme) -> None:
    result = nightly_standing(programme, NIGHT, standing("SILVER", date(2028, 2, 29)), {})
    assert (result.tier, result.valid_until) == ("BLUE", None)


def test_an_upgrade_left_unapplied_is_applied_with_its_own_valid_until(programme: Programme) -> None:
    result = nightly_standing(programme, NIGHT, standing("SILVER", date(2029, 2, 28)), year(2028, 50_000, 0))
    assert (result.tier, result.valid_until, result.reason) == (
        "GOLD",
        date(2030, 2, 28),
        TierReason.UPGRADE,
    )


def test_an_old_year_no_longer_upgrades(programme: Programme) -> None:
    assert upgrade_years(programme, date(2028, 3, 1)) == [2027, 2028]
    assert upgrade_years(programme, date(2028, 2, 29)) == [2026, 2027, 2028]
    result = nightly_standing(programme, NIGHT, standing("BLUE", None), year(2026, 80_000, 0))
    assert result.reason is None


def test_a_member_with_nothing_to_change_is_left_alone(programme: Programme) -> None:
    result = nightly_standing(programme, NIGHT, standing("GOLD", date(2029, 2, 28)), year(2027, 50_000, 0))
    assert result.reason is None
    assert (result.tier, result.valid_until) == ("GOLD", date(2029, 2, 28))
