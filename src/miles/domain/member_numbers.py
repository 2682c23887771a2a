"""Member numbers: 10 digits, the last a Luhn check digit."""

from __future__ import annotations

from miles.domain.errors import InvalidInput


def luhn_check_digit(payload: str) -> str:
    total = 0
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def member_number_from_sequence(value: int) -> str:
    payload = f"{value:09d}"
    if len(payload) != 9:
        raise ValueError("member number sequence exhausted")
    return payload + luhn_check_digit(payload)


def validate_member_number(number: str, field: str = "member_number") -> str:
    if len(number) != 10 or not (number.isascii() and number.isdigit()):
        raise InvalidInput("a member number is 10 digits", field=field, code="invalid_member_number")
    if luhn_check_digit(number[:9]) != number[9]:
        raise InvalidInput(
            f"member number {number} fails its check digit: mistyped?",
            field=field,
            code="invalid_member_number",
        )
    return number
