"""The rules file's `finance` section: Aurora's values, the defaults, and what is refused with its path."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from miles.domain.errors import ProgrammeError
from miles.domain.programme.model import FinanceRules
from miles.programme.reading import read_document, read_reference

VALID = Path(__file__).parents[1] / "programme" / "mistakes" / "_valid.yaml"


def valid() -> dict[str, Any]:
    return dict(yaml.safe_load(VALID.read_text()))


def test_aurora_defers_its_value_per_mile_and_estimates_its_breakage() -> None:
    finance = read_reference().versions[-1].finance
    assert finance == FinanceRules(
        value_per_mile=Decimal("0.012"), breakage_override=None, breakage_maturity_months=36
    )


def test_a_file_without_a_finance_section_takes_the_defaults() -> None:
    assert read_document(valid()).versions[0].finance == FinanceRules(Decimal("0.01"), None, 36)


def test_an_override_and_a_maturity_are_read_exactly_and_kept_in_the_stored_document() -> None:
    raw = valid()
    raw["versions"][0]["finance"] = {"breakage_override": "0.185", "breakage_maturity_months": 24}
    book = read_document(raw)
    assert book.versions[0].finance == FinanceRules(Decimal("0.01"), Decimal("0.185"), 24)
    assert read_document(book.document).versions == book.versions


@pytest.mark.parametrize(
    ("finance", "path"),
    [
        ({"value_per_mile": "0"}, "versions[0].finance.value_per_mile"),
        ({"breakage_override": "1.01"}, "versions[0].finance.breakage_override"),
        ({"breakage_override": "-0.1"}, "versions[0].finance.breakage_override"),
        ({"breakage_maturity_months": 0}, "versions[0].finance.breakage_maturity_months"),
        ({"value_per_mle": "0.01"}, "versions[0].finance.value_per_mle"),
    ],
)
def test_a_finance_mistake_is_refused_with_its_path(finance: dict[str, Any], path: str) -> None:
    raw = valid()
    raw["versions"][0]["finance"] = finance
    with pytest.raises(ProgrammeError) as caught:
        read_document(raw)
    assert [where for where, _ in caught.value.problems] == [path]
