"""Revenue by the cumulative catch-up method (IFRS 15 IE267-IE270), and the deferred revenue roll-forward."""

from __future__ import annotations

from decimal import Decimal

import pytest

from miles.domain.errors import InvalidInput
from miles.domain.finance.breakage import expected_to_redeem
from miles.domain.finance.revenue import (
    UNIT,
    catch_up,
    cumulative_revenue,
    deferred_on_issue,
    roll_forward,
)

ALLOCATED = Decimal(9000)
ISSUED = 10_000


def test_the_ifrs_15_example_recognises_4175_then_3552_or_4140_in_whole_units() -> None:
    # year 1: 97 % of 10,000 points expected to be redeemed, 4,500 redeemed
    expected_1 = expected_to_redeem(ISSUED, Decimal("0.03"))
    assert expected_1 == 9700
    year_1 = catch_up(ALLOCATED, ISSUED, expected_1, 4500, Decimal(0), quantum=UNIT)
    assert year_1 == Decimal(4175)  # 9,000 x 4,500 / 9,700 = 4,175.26
    # year 2: 4,000 more redeemed (8,500 to date), the estimate raised to 9,900
    expected_2 = expected_to_redeem(ISSUED, Decimal("0.01"))
    assert expected_2 == 9900
    assert catch_up(ALLOCATED, ISSUED, expected_2, 8500, year_1, quantum=UNIT) == Decimal(3552)
    # had the estimate fallen to 9,200 instead
    expected_fallen = expected_to_redeem(ISSUED, Decimal("0.08"))
    assert expected_fallen == 9200
    assert catch_up(ALLOCATED, ISSUED, expected_fallen, 8500, year_1, quantum=UNIT) == Decimal(4140)


def test_in_cents_the_example_rounds_the_cumulative_and_the_years_sum_to_it() -> None:
    year_1 = catch_up(ALLOCATED, ISSUED, 9700, 4500, Decimal(0))
    assert year_1 == Decimal("4175.26")
    year_2 = catch_up(ALLOCATED, ISSUED, 9900, 8500, year_1)
    assert year_2 == Decimal("3552.01")  # 7,727.27 - 4,175.26
    assert year_1 + year_2 == cumulative_revenue(ALLOCATED, ISSUED, 9900, 8500) == Decimal("7727.27")
    assert catch_up(ALLOCATED, ISSUED, 9200, 8500, year_1) == Decimal("4139.96")  # 8,315.22 - 4,175.26


def test_rounding_never_accumulates_over_many_small_periods() -> None:
    recognised = Decimal(0)
    for redeemed in range(7, 9701, 7):  # 1,385 periods of 7 miles, each worth 6.4948... before rounding
        recognised += catch_up(ALLOCATED, ISSUED, 9700, redeemed, recognised)
    assert recognised == cumulative_revenue(ALLOCATED, ISSUED, 9700, 9695) == Decimal("8995.36")


def test_nothing_redeemed_recognises_nothing() -> None:
    assert catch_up(ALLOCATED, ISSUED, 9700, 0, Decimal(0)) == Decimal("0.00")


def test_nothing_expected_to_be_redeemed_recognises_the_whole_allocation() -> None:
    assert cumulative_revenue(ALLOCATED, ISSUED, 0, 0) == Decimal("9000.00")
    assert catch_up(ALLOCATED, ISSUED, expected_to_redeem(ISSUED, Decimal(1)), 0, Decimal(0)) == Decimal(
        "9000.00"
    )
    # nothing issued, nothing allocated: nothing to recognise
    assert cumulative_revenue(Decimal(0), 0, 0, 0) == Decimal("0.00")


def test_redemptions_beyond_the_estimate_cap_the_cumulative_at_the_allocation() -> None:
    # 9,800 redeemed where 9,700 were expected: 9,000 x 9,800 / 9,700 would be 9,092.78
    to_date = catch_up(ALLOCATED, ISSUED, 9700, 9800, Decimal(0))
    assert to_date == Decimal("9000.00")
    # more redemptions recognise nothing more
    assert catch_up(ALLOCATED, ISSUED, 9700, 10_000, to_date) == Decimal("0.00")


def test_an_estimate_that_rises_faster_than_redemptions_reverses_revenue() -> None:
    year_1 = catch_up(ALLOCATED, ISSUED, 9700, 4500, Decimal(0), quantum=UNIT)
    # no redemption in year 2, and every point is now expected to be redeemed: 9,000 x 4,500 / 10,000
    year_2 = catch_up(ALLOCATED, ISSUED, 10_000, 4500, year_1, quantum=UNIT)
    assert year_2 == Decimal(-125)
    assert year_1 + year_2 == Decimal(4050)


@pytest.mark.parametrize(
    ("arguments", "field", "code"),
    [
        ((Decimal(-1), ISSUED, 9700, 0), "allocated", "negative"),
        ((ALLOCATED, -1, 0, 0), "issued", "negative"),
        ((ALLOCATED, ISSUED, -5, 0), "expected_to_redeem", "negative"),
        ((ALLOCATED, ISSUED, 9700, -5), "redeemed_to_date", "negative"),
        ((ALLOCATED, ISSUED, 10_001, 0), "expected_to_redeem", "expected_above_issued"),
        ((ALLOCATED, ISSUED, 9700, 10_001), "redeemed_to_date", "redeemed_above_issued"),
    ],
)
def test_impossible_figures_are_refused_naming_the_field(
    arguments: tuple[Decimal, int, int, int], field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        cumulative_revenue(*arguments)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_a_month_rolls_forward_from_its_opening_by_the_miles_issued_and_the_revenue_recognised() -> None:
    month = roll_forward(Decimal("1000.00"), 123_457, Decimal("0.012"), Decimal("250.10"))
    assert month.deferred == Decimal("1481.48")  # 123,457 x 0.012 = 1,481.484
    assert month.closing == Decimal("2231.38")
    following = roll_forward(month.closing, -1000, Decimal("0.012"), Decimal(0))
    assert following.deferred == Decimal("-12.00")  # miles taken back release what they deferred
    assert following.closing == Decimal("2219.38")


def test_a_value_per_mile_that_is_not_positive_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        deferred_on_issue(100, Decimal(0))
    assert caught.value.field == "value_per_mile"
