"""The miles liability: each ledger transfer's source (a claim by its accrual's channel), and a report whose
sources, less debts, must be the ledger's balances."""

from __future__ import annotations

from datetime import date

import pytest

from miles.domain.errors import Conflict, InvalidInput
from miles.domain.finance.liability import (
    EXPIRING_CODES,
    ISSUING_CODES,
    REDEEMING_CODES,
    REFUNDING_CODES,
    REVERSAL_OF,
    Liability,
    LiabilityLine,
    Source,
    check_liability,
    liability_problems,
    source_of,
)
from miles.domain.ledger import TRANSFER_CODES

# ledger codes that move miles without issuing them (spending, expiring, or giving back a spend)
NOT_ISSUING = REDEEMING_CODES | EXPIRING_CODES | REFUNDING_CODES


@pytest.mark.parametrize(
    ("code", "channel", "source"),
    [
        ("flight_accrual", "api", Source.FLIGHTS),
        ("flight_accrual", "batch", Source.FLIGHTS),
        ("flight_accrual", "claim", Source.CLAIMS),
        ("flight_accrual_reversal", "claim", Source.CLAIMS),
        ("flight_accrual_reversal", "api", Source.FLIGHTS),
        ("partner_accrual", "file", Source.PARTNERS),
        ("partner_accrual_reversal", None, Source.PARTNERS),
        ("promotion_bonus", None, Source.PROMOTIONS),
        ("promotion_bonus_reversal", None, Source.PROMOTIONS),
        ("goodwill", None, Source.GOODWILL),
    ],
)
def test_a_transfer_is_of_the_source_its_code_and_its_accrual_channel_say(
    code: str, channel: str | None, source: Source
) -> None:
    assert source_of(code, channel) is source


def test_every_ledger_code_is_known_as_issuing_reversing_or_neither() -> None:
    # a code added to the ledger must be placed here, so the liability never misses its miles
    assert set(TRANSFER_CODES) == ISSUING_CODES | set(REVERSAL_OF) | NOT_ISSUING
    assert set(REVERSAL_OF.values()) <= ISSUING_CODES


@pytest.mark.parametrize("code", sorted(NOT_ISSUING))
def test_a_transfer_that_issues_no_miles_has_no_source(code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        source_of(code, "api")
    assert (caught.value.field, caught.value.code) == ("code", "not_an_issuing_code")


def test_a_flight_accrual_without_its_channel_is_refused_rather_than_guessed() -> None:
    with pytest.raises(InvalidInput) as caught:
        source_of("flight_accrual")
    assert (caught.value.field, caught.value.code) == ("channel", "channel_required")


def report(ledger_balance: int, debts: int = 0) -> Liability:
    return Liability(
        as_of=date(2026, 11, 30),
        lines=(
            LiabilityLine(date(2026, 10, 1), Source.FLIGHTS, 12_000),
            LiabilityLine(date(2026, 10, 1), Source.CLAIMS, 1_500),
            LiabilityLine(date(2026, 9, 1), Source.PARTNERS, 4_000),
            LiabilityLine(date(2026, 10, 1), Source.GOODWILL, 500),
            LiabilityLine(date(2026, 9, 1), Source.FLIGHTS, 3_000),
        ),
        debts=debts,
        ledger_balance=ledger_balance,
    )


def test_the_liability_reads_by_source_and_by_cohort_every_source_shown() -> None:
    liability = report(ledger_balance=20_700, debts=300)
    assert liability.gross == 21_000
    assert liability.net == 20_700
    assert liability.by_source() == {
        Source.FLIGHTS: 15_000,
        Source.PARTNERS: 4_000,
        Source.PROMOTIONS: 0,
        Source.GOODWILL: 500,
        Source.CLAIMS: 1_500,
        Source.PURCHASES: 0,
    }
    cohorts = liability.by_cohort()
    assert list(cohorts) == [date(2026, 9, 1), date(2026, 10, 1)]
    assert cohorts[date(2026, 9, 1)][Source.PARTNERS] == 4_000
    assert dict(liability.cohort_totals()) == {date(2026, 9, 1): 7_000, date(2026, 10, 1): 14_000}
    check_liability(liability)


def test_sources_that_do_not_add_up_to_the_ledger_are_refused() -> None:
    with pytest.raises(Conflict) as caught:
        check_liability(report(ledger_balance=21_000, debts=300))
    assert caught.value.code == "liability_mismatch"
    assert "the sources less debts are 20700 miles, the ledger's balances 21000" in caught.value.message


def test_a_malformed_liability_lists_every_problem() -> None:
    liability = Liability(
        as_of=date(2026, 11, 30),
        lines=(
            LiabilityLine(date(2026, 10, 1), Source.FLIGHTS, 100),
            LiabilityLine(date(2026, 10, 1), Source.FLIGHTS, -100),
            LiabilityLine(date(2026, 12, 1), Source.GOODWILL, 0),
            LiabilityLine(date(2026, 9, 15), Source.GOODWILL, 0),
        ),
        debts=-1,
        ledger_balance=0,
    )
    assert len(liability_problems(liability)) == 6
