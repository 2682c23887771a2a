"""Accounting months as finance, settlement and the reports read them: `YYYY-MM` exactly, anything else a 422
naming the field."""

from __future__ import annotations

from datetime import date

import pytest

from miles.domain.errors import InvalidInput
from miles.domain.finance.months import parse_month


def test_a_month_is_its_first_day() -> None:
    assert parse_month("2026-11") == date(2026, 11, 1)
    assert parse_month("0001-01") == date(1, 1, 1)


@pytest.mark.parametrize(
    "text",
    ["2026-13", "2026-00", "0000-05", "2026-1", "26-11", "2026/11", "2026-11-01", "2026-11\n", " 2026-11",
     "２０２６-11", "2026-١١", ""],
)  # fmt: skip
def test_anything_but_yyyy_mm_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_month(text, field="--month")
    assert (refused.value.field, refused.value.code) == ("--month", "invalid_month")
