"""Breakage per earn-month cohort: estimated from cohorts old enough to tell, young cohorts taking the
mature average, an override winning."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from miles.domain.calendar import add_months
from miles.domain.errors import InvalidInput
from miles.domain.finance.breakage import CohortHistory, RateBasis, estimate_breakage, expected_to_redeem

START = date(1940, 1, 1)
MATURITY = 36


def generated_history(
    rng: random.Random, true_rate: float, months: int, as_of: date
) -> tuple[list[CohortHistory], int, int]:
    """`months` monthly cohorts from START: each of 20-80 lots of 100-2,000 miles; a lot of a cohort past
    the maturity expired with probability `true_rate` (else it was redeemed), and some were partly taken
    back; a younger cohort's lots are redeemed or still outstanding, none expired yet. Returns the cohorts
    and the expired and settled miles of the mature ones."""
    cohorts: list[CohortHistory] = []
    mature_expired = mature_settled = 0
    for index in range(months):
        month = add_months(START, index)
        mature = add_months(month, MATURITY + 1) <= as_of
        issued = redeemed = expired = outstanding = reversed_ = 0
        for _ in range(rng.randint(20, 80)):
            lot = rng.randint(100, 2000)
            issued += lot
            if rng.random() < 0.02:
                reversed_ += lot
            elif not mature:
                if rng.random() < 0.4:
                    redeemed += lot
                else:
                    outstanding += lot
            elif rng.random() < true_rate:
                expired += lot
            else:
                redeemed += lot
        cohorts.append(CohortHistory(month, issued, redeemed, expired, outstanding, reversed_))
        if mature:
            mature_expired += expired
            mature_settled += expired + redeemed
    return cohorts, mature_expired, mature_settled


@pytest.mark.parametrize("true_rate", [0.05, 0.18, 0.4])
def test_a_thousand_generated_cohorts_give_back_their_true_breakage_rate(true_rate: float) -> None:
    rng = random.Random(int(true_rate * 1000))
    as_of = date(2023, 4, 30)  # the last of 1,000 monthly cohorts from 1940-01 is 2023-04
    cohorts, expired, settled = generated_history(rng, true_rate, 1000, as_of)
    estimate = estimate_breakage(cohorts, as_of, MATURITY)
    assert estimate.mature_basis is RateBasis.MATURE_AVERAGE
    assert abs(float(estimate.mature_rate) - true_rate) < 0.01
    # the miles-weighted average of the mature cohorts is their pooled ratio
    assert estimate.mature_rate == (Decimal(expired) / Decimal(settled)).quantize(Decimal("0.000001"))
    bases = [c.basis for c in estimate.cohorts.values()]
    assert bases.count(RateBasis.OBSERVED) == 1000 - 37
    # the 37 youngest (2020-04 to 2023-04) are not past their maturity and take the mature average
    young = [c for c in estimate.cohorts.values() if c.basis is RateBasis.MATURE_AVERAGE]
    assert [c.earn_month for c in young] == [add_months(date(2020, 4, 1), i) for i in range(37)]
    assert all(c.rate == estimate.mature_rate for c in young)


def test_a_mature_cohort_keeps_its_own_rate_and_miles_weight_the_average() -> None:
    cohorts = [
        CohortHistory(date(2020, 1, 1), 10_000, redeemed=9_000, expired=1_000, outstanding=0),
        CohortHistory(date(2020, 2, 1), 1_000, redeemed=500, expired=500, outstanding=0),
        CohortHistory(date(2024, 6, 1), 5_000, redeemed=1_000, expired=0, outstanding=4_000),
    ]
    estimate = estimate_breakage(cohorts, date(2024, 6, 30), MATURITY)
    assert estimate.rate(date(2020, 1, 1)) == Decimal("0.100000")
    assert estimate.rate(date(2020, 2, 1)) == Decimal("0.500000")
    # (1,000 + 500) / (10,000 + 1,000), not the plain mean of 0.1 and 0.5
    assert estimate.mature_rate == Decimal("0.136364")
    assert estimate.cohorts[date(2024, 6, 1)].basis is RateBasis.MATURE_AVERAGE
    assert estimate.rate(date(2024, 6, 1)) == Decimal("0.136364")
    # a month with no history yet takes the same
    assert estimate.rate(date(2024, 7, 1)) == Decimal("0.136364")


def test_a_cohort_is_mature_the_day_after_its_maturity_month_ends_or_once_nothing_is_outstanding() -> None:
    earned = CohortHistory(date(2020, 1, 1), 1_000, redeemed=600, expired=300, outstanding=100)
    settled = CohortHistory(date(2023, 1, 1), 1_000, redeemed=1_000, expired=0, outstanding=0)
    # 36 months after January 2020 ends on 2023-01-31
    on_the_day = estimate_breakage([earned, settled], date(2023, 1, 31), MATURITY)
    assert on_the_day.cohorts[date(2020, 1, 1)].basis is RateBasis.MATURE_AVERAGE
    assert on_the_day.cohorts[date(2023, 1, 1)].basis is RateBasis.OBSERVED
    assert on_the_day.mature_rate == Decimal("0.000000")
    day_after = estimate_breakage([earned, settled], date(2023, 2, 1), MATURITY)
    assert day_after.cohorts[date(2020, 1, 1)].rate == Decimal(
        "0.333333"
    )  # 300 / 900: outstanding not counted
    assert day_after.mature_rate == Decimal("0.157895")  # 300 / 1,900


def test_the_override_wins_over_every_cohort_history() -> None:
    rng = random.Random(7)
    cohorts, _, _ = generated_history(rng, 0.3, 120, date(2000, 1, 1))
    estimate = estimate_breakage(cohorts, date(2000, 1, 1), MATURITY, override=Decimal("0.12"))
    assert estimate.mature_basis is RateBasis.OVERRIDE
    assert {(c.rate, c.basis) for c in estimate.cohorts.values()} == {
        (Decimal("0.120000"), RateBasis.OVERRIDE)
    }
    assert estimate.rate(date(2001, 1, 1)) == Decimal("0.12")
    # an override of 0 is an override too
    assert estimate_breakage(cohorts, date(2000, 1, 1), MATURITY, override=Decimal(0)).mature_rate == 0


def test_without_a_mature_cohort_every_mile_is_expected_to_be_redeemed() -> None:
    young = CohortHistory(date(2026, 1, 1), 5_000, redeemed=1_000, expired=0, outstanding=4_000)
    estimate = estimate_breakage([young], date(2026, 11, 30), MATURITY)
    assert estimate.mature_basis is RateBasis.NO_HISTORY
    assert estimate.rate(date(2026, 1, 1)) == Decimal(0)
    assert estimate_breakage([], date(2026, 11, 30), MATURITY).mature_rate == Decimal(0)


def test_cohorts_earned_after_the_estimate_date_are_not_counted() -> None:
    later = CohortHistory(date(2027, 1, 1), 1_000, redeemed=0, expired=1_000, outstanding=0)
    assert estimate_breakage([later], date(2026, 12, 31), MATURITY).cohorts == {}


def test_expected_redemptions_are_the_miles_not_expected_to_break() -> None:
    assert expected_to_redeem(10_000, Decimal("0.03")) == 9_700
    assert expected_to_redeem(3, Decimal("0.5")) == 2  # 1.5 rounds half up
    assert expected_to_redeem(10_000, Decimal(1)) == 0


@pytest.mark.parametrize(
    ("parts", "field", "code"),
    [
        ({"issued": 100, "redeemed": 50, "expired": 0, "outstanding": 0}, "issued", "cohort_does_not_add_up"),
        ({"issued": 100, "redeemed": -1, "expired": 1, "outstanding": 100}, "redeemed", "negative"),
    ],
)
def test_a_cohort_that_does_not_add_up_is_refused(parts: dict[str, int], field: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        CohortHistory(date(2020, 1, 1), **parts)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_out_of_range_rates_and_duplicate_months_are_refused() -> None:
    cohort = CohortHistory(date(2020, 1, 1), 100, redeemed=100, expired=0, outstanding=0)
    with pytest.raises(InvalidInput) as caught:
        estimate_breakage([cohort], date(2024, 1, 1), MATURITY, override=Decimal("1.2"))
    assert caught.value.field == "breakage_override"
    with pytest.raises(InvalidInput) as caught:
        estimate_breakage([cohort, cohort], date(2024, 1, 1), MATURITY)
    assert caught.value.code == "duplicate_cohort"
    with pytest.raises(InvalidInput) as caught:
        expected_to_redeem(100, Decimal("-0.1"))
    assert caught.value.field == "rate"
