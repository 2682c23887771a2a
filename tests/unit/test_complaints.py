"""Complaints: what a complaint may hold, and the service-recovery report's arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from miles.domain.complaints import (
    CATEGORIES,
    MAX_TEXT,
    GroupCounts,
    differences,
    group_figures,
    parse_report_day,
    per_member,
    share,
    validate_complaint,
    validate_report_range,
)
from miles.domain.errors import InvalidInput
from miles.domain.validation import InvalidFields


def test_the_categories_are_fixed_data() -> None:
    assert CATEGORIES == ("delay", "cancellation", "baggage", "seat", "service", "miles", "other")


def test_a_valid_complaint_passes_with_and_without_a_resolution() -> None:
    validate_complaint("delay", "Five hours late\non ZZ12\twithout a meal")
    validate_complaint("baggage", "Bag lost", "Found and delivered the next day")
    validate_complaint("other", "x" * MAX_TEXT, "y" * MAX_TEXT)


@pytest.mark.parametrize(
    ("category", "description", "resolution", "field", "code"),
    [
        ("food", "bad", None, "category", "unknown_category"),
        ("", "bad", None, "category", "unknown_category"),
        ("delay", "", None, "description", "required"),
        ("delay", "   \n ", None, "description", "required"),
        ("delay", "x" * (MAX_TEXT + 1), None, "description", "too_long"),
        ("delay", "late\x00", None, "description", "invalid_text"),
        ("delay", "late\x1b[31m", None, "description", "invalid_text"),
        ("delay", "late", "", "resolution", "required"),
        ("delay", "late", "y" * (MAX_TEXT + 1), "resolution", "too_long"),
        ("delay", "late", "sorry\x07", "resolution", "invalid_text"),
    ],
)
def test_each_bad_field_is_named_with_its_code(
    category: str, description: str, resolution: str | None, field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_complaint(category, description, resolution)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidFields) as caught:
        validate_complaint("food", "", "\x00")
    assert set(caught.value.by_field()) == {"category", "description", "resolution"}


def test_shares_and_averages_are_decimals_rounded_half_up() -> None:
    assert share(1, 4) == Decimal("0.2500")
    assert share(2, 3) == Decimal("0.6667")
    assert share(1, 3) == Decimal("0.3333")
    assert share(0, 5) == Decimal("0.0000")
    assert share(3, 3) == Decimal("1.0000")
    assert share(1, 0) is None
    assert per_member(5, 2) == Decimal("2.50")
    assert per_member(1, 8) == Decimal("0.13")  # 0.125 rounds half up
    assert per_member(0, 0) is None


def test_group_figures_and_differences() -> None:
    compensated = group_figures(True, GroupCounts(4, 5, 2, 1, 3, 1, 10, 12_000))
    not_compensated = group_figures(False, GroupCounts(2, 2, 0, 0, 0, 2, 0, 0))
    assert compensated.share_active == Decimal("0.7500")
    assert compensated.flights_per_member == Decimal("2.50")
    assert compensated.miles_per_member == Decimal("3000.00")
    assert compensated.share_left == Decimal("0.2500")
    assert (not_compensated.share_active, not_compensated.share_left) == (
        Decimal("0.0000"),
        Decimal("1.0000"),
    )
    d = differences(compensated, not_compensated)
    assert d.share_active == Decimal("0.7500")
    assert d.share_left == Decimal("-0.7500")
    assert d.flights_per_member == Decimal("2.50")
    empty = group_figures(False, GroupCounts(0, 0, 0, 0, 0, 0, 0, 0))
    assert empty.share_active is None
    assert empty.miles_per_member is None
    assert differences(compensated, empty).share_active is None


def test_the_range_is_real_days_in_order() -> None:
    assert parse_report_day("2026-02-28", "from") == date(2026, 2, 28)
    for bad in ("2026-02-30", "2026-2-1", "20260201", "2026-02-01T00:00", "", "9999-12-31", "0001-01-01"):
        with pytest.raises(InvalidInput) as caught:
            parse_report_day(bad, "to")
        assert (caught.value.field, caught.value.code) == ("to", "invalid_date")
    validate_report_range(date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(InvalidInput) as reversed_range:
        validate_report_range(date(2026, 2, 1), date(2026, 1, 31))
    assert (reversed_range.value.field, reversed_range.value.code) == ("to", "reversed_range")
