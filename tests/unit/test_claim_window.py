"""Missing-miles claims are accepted from 7 days to 6 months after departure, both ends inclusive."""

from __future__ import annotations

from datetime import date

import pytest

from miles.domain.claims import check_claim_window, claim_window
from miles.domain.errors import InvalidInput
from miles.domain.programme.model import Programme

DEPARTED = date(2026, 5, 31)


def test_the_window_runs_from_7_days_to_6_months_after_departure(programme: Programme) -> None:
    assert claim_window(DEPARTED, programme) == (date(2026, 6, 7), date(2026, 11, 30))


@pytest.mark.parametrize("today", [date(2026, 6, 7), date(2026, 8, 1), date(2026, 11, 30)])
def test_a_claim_inside_the_window_is_accepted(programme: Programme, today: date) -> None:
    check_claim_window(DEPARTED, today, programme)


@pytest.mark.parametrize(
    ("today", "code", "words"),
    [
        (date(2026, 6, 6), "claim_too_early", "from 2026-06-07"),
        (date(2026, 5, 31), "claim_too_early", "from 2026-06-07"),
        (date(2026, 12, 1), "claim_too_late", "until 2026-11-30"),
    ],
)
def test_a_claim_outside_the_window_says_when_it_would_be_accepted(
    programme: Programme, today: date, code: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_claim_window(DEPARTED, today, programme)
    assert caught.value.code == code
    assert caught.value.field == "departure_date"
    assert words in caught.value.message


def test_a_flight_that_has_not_departed_cannot_be_claimed(programme: Programme) -> None:
    with pytest.raises(InvalidInput, match="not departed"):
        check_claim_window(date(2026, 12, 24), date(2026, 11, 23), programme)


def test_six_months_after_the_end_of_a_long_month_is_clamped(programme: Programme) -> None:
    assert claim_window(date(2026, 8, 31), programme)[1] == date(2027, 2, 28)
