"""validate_coupon: every broken rule is an InvalidInput naming the field, never another exception."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from miles.domain.accrual import earn_for_flight, validate_coupon
from miles.domain.errors import InvalidInput


def rejected_field(programme, coupon, today) -> str | None:
    with pytest.raises(InvalidInput) as caught:
        validate_coupon(programme, coupon, today)
    return caught.value.field


def test_valid_coupon_returns_its_carrier_rule(programme, make_coupon, today) -> None:
    assert validate_coupon(programme, make_coupon(), today).code == "YY"


@pytest.mark.parametrize("field", ["origin", "destination"])
def test_unknown_airport_is_rejected(programme, make_coupon, today, field) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_coupon(programme, make_coupon(**{field: "QQQ"}), today)
    assert caught.value.field == field
    assert caught.value.code == "unknown_airport"


def test_lowercase_airport_is_rejected(programme, make_coupon, today) -> None:
    assert rejected_field(programme, make_coupon(origin="jfk"), today) == "origin"


def test_same_origin_and_destination_is_rejected(programme, make_coupon, today) -> None:
    coupon = make_coupon(origin="JFK", destination="JFK")
    assert rejected_field(programme, coupon, today) == "destination"


def test_carrier_outside_programme_is_rejected(programme, make_coupon, today) -> None:
    coupon = make_coupon(marketing_carrier="XX", operating_carrier="XX")
    with pytest.raises(InvalidInput) as caught:
        validate_coupon(programme, coupon, today)
    assert caught.value.field == "marketing_carrier"
    assert caught.value.code == "carrier_not_in_programme"


@pytest.mark.parametrize("booking_class", ["Z", "y", "", "YY"])
def test_class_not_sold_is_rejected(programme, make_coupon, today, booking_class) -> None:
    coupon = make_coupon(booking_class=booking_class)
    assert rejected_field(programme, coupon, today) == "booking_class"


def test_negative_fare_is_rejected(programme, make_coupon, today) -> None:
    coupon = make_coupon(fare_amount=Decimal("-0.01"), fare_currency="USD")
    assert rejected_field(programme, coupon, today) == "fare.amount"


@pytest.mark.parametrize("currency", ["XYZ", "usd", "", None])
def test_unknown_currency_is_rejected(programme, make_coupon, today, currency) -> None:
    coupon = make_coupon(fare_amount=Decimal("100.00"), fare_currency=currency)
    with pytest.raises(InvalidInput) as caught:
        validate_coupon(programme, coupon, today)
    assert caught.value.field == "fare.currency"
    assert caught.value.code == "unknown_currency"


@pytest.mark.parametrize(
    "ticket_number", ["", "001228047603", "00122804760345", "001228047603a", "0012-28047603"]
)
def test_ticket_number_not_13_digits_is_rejected(programme, make_coupon, today, ticket_number) -> None:
    assert rejected_field(programme, make_coupon(ticket_number=ticket_number), today) == "ticket_number"


@pytest.mark.parametrize("coupon_number", [0, 5, -1])
def test_coupon_number_outside_1_to_4_is_rejected(programme, make_coupon, today, coupon_number) -> None:
    coupon = make_coupon(coupon_number=coupon_number)
    assert rejected_field(programme, coupon, today) == "coupon_number"


@pytest.mark.parametrize("coupon_number", [1, 4])
def test_coupon_numbers_1_and_4_are_accepted(programme, make_coupon, today, coupon_number) -> None:
    coupon = make_coupon(coupon_number=coupon_number)
    assert validate_coupon(programme, coupon, today) is programme.carriers[coupon.marketing_carrier]


def test_departure_after_today_is_rejected(programme, make_coupon, today) -> None:
    coupon = make_coupon(departure_date=today + timedelta(days=1))
    assert rejected_field(programme, coupon, today) == "departure_date"


def test_departure_today_is_accepted(programme, make_coupon, today) -> None:
    coupon = make_coupon(departure_date=today)
    assert validate_coupon(programme, coupon, today) is programme.carriers[coupon.marketing_carrier]


def test_future_is_judged_against_today_argument_not_the_clock(programme, make_coupon) -> None:
    coupon = make_coupon(departure_date=date(2026, 10, 1))
    with pytest.raises(InvalidInput) as caught:
        validate_coupon(programme, coupon, date(2026, 9, 30))
    assert (caught.value.code, caught.value.field) == ("invalid_input", "departure_date")


def test_mistyped_member_number_is_rejected(programme, make_coupon, today) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_coupon(programme, make_coupon(member_number="1000000018"), today)
    assert caught.value.field == "member_number"
    assert caught.value.code == "invalid_member_number"


def test_ticket_number_in_non_ascii_digits_is_rejected(programme, make_coupon, today) -> None:
    # BUG (src/miles/domain/accrual.py, validate_coupon): str.isdigit() accepts Arabic-Indic digits, so
    # the same ticket written "٠٠١٢٢٨٠٤٧٦٠٣٤" passes and would earn a second time under another key.
    arabic = "".join(chr(0x0660 + int(c)) for c in "0012280476034")
    assert rejected_field(programme, make_coupon(ticket_number=arabic), today) == "ticket_number"


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity"])
def test_non_finite_fare_is_invalid_input_not_a_crash(
    programme, make_coupon, make_standing, today, amount
) -> None:
    # BUG (src/miles/domain/accrual.py, validate_coupon): `fare_amount < 0` raises
    # decimal.InvalidOperation for NaN, and Infinity passes then fails in fare_value's quantize.
    coupon = make_coupon(
        marketing_carrier="ZZ", operating_carrier="ZZ", fare_amount=Decimal(amount), fare_currency="USD"
    )
    with pytest.raises(InvalidInput) as caught:
        earn_for_flight(programme, coupon, make_standing(), today)
    assert caught.value.field == "fare.amount"
