"""Member numbers: 10 digits, the last a Luhn check digit."""

from __future__ import annotations

import pytest

from miles.domain.errors import InvalidInput
from miles.domain.member_numbers import (
    luhn_check_digit,
    member_number_from_sequence,
    validate_member_number,
)


def test_sequence_100000001_gives_1000000016() -> None:
    assert member_number_from_sequence(100000001) == "1000000016"


def test_luhn_check_digit_of_known_payload() -> None:
    # 7992739871 is the textbook Luhn example; its check digit is 3
    assert luhn_check_digit("7992739871") == "3"


@pytest.mark.parametrize("sequence", [1, 100000001, 123456789, 555555555, 999999999])
def test_generated_member_number_validates(sequence: int) -> None:
    number = member_number_from_sequence(sequence)
    assert len(number) == 10
    assert validate_member_number(number) == number


def test_sequence_beyond_nine_digits_is_refused() -> None:
    with pytest.raises(ValueError, match="exhausted"):
        member_number_from_sequence(1_000_000_000)


@pytest.mark.parametrize("position", range(10))
def test_single_digit_typo_is_rejected(position: int) -> None:
    number = member_number_from_sequence(100000001)
    wrong = str((int(number[position]) + 1) % 10)
    typo = number[:position] + wrong + number[position + 1 :]
    with pytest.raises(InvalidInput) as caught:
        validate_member_number(typo)
    assert caught.value.code == "invalid_member_number"
    assert caught.value.field == "member_number"


def test_adjacent_transposition_is_rejected() -> None:
    number = member_number_from_sequence(123456789)  # "1234567897"
    swapped = number[1] + number[0] + number[2:]
    with pytest.raises(InvalidInput) as caught:
        validate_member_number(swapped)
    assert caught.value.code == "invalid_member_number"


def test_design_example_1000000018_fails_the_luhn_check() -> None:
    # DESIGN.md's API examples use "1000000018"; its check digit is wrong (the valid one is ...016).
    with pytest.raises(InvalidInput) as caught:
        validate_member_number("1000000018")
    assert caught.value.code == "invalid_member_number"


@pytest.mark.parametrize("number", ["", "100000001", "10000000160", "10000000a6", " 1000000016"])
def test_wrong_shape_is_rejected(number: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_member_number(number)
    assert caught.value.code == "invalid_member_number"


def test_rejection_names_the_callers_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_member_number("1000000018", field="items[0].member_number")
    assert caught.value.field == "items[0].member_number"


def test_non_ascii_digits_are_rejected_as_invalid_member_number() -> None:
    # Arabic-Indic digits for 1000000016: str.isdigit() accepts them, so only the check digit stops them.
    with pytest.raises(InvalidInput) as caught:
        validate_member_number("\u0661\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0661\u0666")
    assert caught.value.code == "invalid_member_number"


def test_superscript_digit_is_invalid_input_not_a_crash() -> None:
    # BUG (src/miles/domain/member_numbers.py): "²".isdigit() is True, so the shape check passes and
    # luhn_check_digit's int("²") raises ValueError: bad input would become a 500, not a 422.
    with pytest.raises(InvalidInput) as caught:
        validate_member_number("\u00b2000000016")
    assert caught.value.code == "invalid_member_number"
