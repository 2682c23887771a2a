"""What a partner activity earns under Aurora's contracts, worked by hand: nights, days, spend converted to
USD then multiplied by its category and rounded down once; when it posts; each refusal naming its field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from miles.domain.errors import InvalidInput
from miles.domain.partners.contracts import ActivityRule, PartnerContract
from miles.domain.partners.earning import PartnerActivity, PartnerEarning, earn_activity
from miles.domain.validation import InvalidFields
from miles.programme.reading import read_reference

AURORA = read_reference().versions[-1]
TODAY = date(2026, 11, 23)


def earn(partner: str, **fields: object) -> PartnerEarning:
    activity = PartnerActivity(
        member_number="1000000016",
        activity_id="A-1",
        activity_date=fields.pop("activity_date", TODAY),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )
    return earn_activity(AURORA.partners[partner], activity, AURORA.rates, AURORA.currency, TODAY, 6)


def refusal(partner: str, **fields: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        earn(partner, **fields)
    return caught.value


def test_a_hotel_stay_earns_500_a_night_and_posts_14_days_after_check_out() -> None:
    stay = earn("HTL", nights=3, activity_date=date(2026, 11, 20))
    assert (stay.kind, stay.miles, stay.posts_on) == ("stay", 1500, date(2026, 12, 4))
    assert stay.pending_on(date(2026, 12, 3))
    assert not stay.pending_on(date(2026, 12, 4))


def test_a_rental_earns_250_a_day_and_posts_at_once() -> None:
    rental = earn("CAR", days=4)
    assert (rental.miles, rental.posts_on, rental.pending_on(TODAY)) == (1000, TODAY, False)


@pytest.mark.parametrize(
    ("amount", "currency", "category", "miles"),
    [
        ("99.99", "USD", None, 99),  # floor(99.99)
        ("100.00", "USD", "travel", 200),
        ("123.45", "EUR", "airline", 399),  # 123.45 x 1.08 = 133.326 x 3 = 399.978
        ("0.99", "USD", None, 0),  # under a mile: recorded, earns nothing
        ("1000", "JPY", None, 6),  # 1000 x 0.0067 = 6.7
        ("33.34", "GBP", "travel", 84),  # 33.34 x 1.27 = 42.3418 x 2 = 84.6836
    ],
)
def test_card_spend_is_converted_multiplied_by_its_category_and_rounded_down_once(
    amount: str, currency: str, category: str | None, miles: int
) -> None:
    spend = earn("CARD", amount=Decimal(amount), currency=currency, category=category)
    assert spend.miles == miles
    assert spend.amount_value == Decimal(amount) * AURORA.rates[currency]


def test_the_parts_of_a_rule_add_up() -> None:
    contract = PartnerContract(
        code="RET",
        name="Retail",
        kind="retail",
        activities={"visit": ActivityRule(per_night=10, per_day=3, per_unit=Decimal("0.5"), fixed=100)},
        pending_days=0,
        price_per_mile=Decimal("0.01"),
        price_currency="USD",
        timezone="UTC",
    )
    activity = PartnerActivity(
        "1000000016", "V-1", TODAY, nights=2, days=5, amount=Decimal("9.99"), currency="USD"
    )
    assert earn_activity(contract, activity, AURORA.rates, "USD", TODAY, 6).miles == 20 + 15 + 4 + 100


@pytest.mark.parametrize(
    ("partner", "fields", "field", "code"),
    [
        ("HTL", {}, "nights", "required"),
        ("HTL", {"nights": 0}, "nights", "out_of_range"),
        ("HTL", {"nights": 365, "days": 1}, "days", "not_in_contract"),
        ("HTL", {"nights": 1, "kind": "spa"}, "kind", "unknown_kind"),
        ("HTL", {"nights": 1, "activity_date": date(2026, 11, 24)}, "activity_date", "future_date"),
        ("HTL", {"nights": 1, "activity_date": date(2026, 5, 22)}, "activity_date", "too_old"),
        ("CAR", {"days": 366}, "days", "out_of_range"),
        ("CAR", {"days": 1, "amount": Decimal(5), "currency": "USD"}, "amount", "not_in_contract"),
        ("CARD", {}, "amount.amount", "required"),
        ("CARD", {"amount": Decimal(0), "currency": "USD"}, "amount.amount", "out_of_range"),
        ("CARD", {"amount": Decimal("50000.01"), "currency": "USD"}, "amount.amount", "out_of_range"),
        ("CARD", {"amount": Decimal(1), "currency": "XAF"}, "amount.currency", "unknown_currency"),
        (
            "CARD",
            {"amount": Decimal(1), "currency": "USD", "category": "fuel"},
            "category",
            "unknown_category",
        ),
    ],
)
def test_each_mistake_is_refused_naming_its_field(
    partner: str, fields: dict[str, object], field: str, code: str
) -> None:
    error = refusal(partner, **fields)
    assert (error.field, error.code) == (field, code)


def test_the_window_s_edges_are_inclusive() -> None:
    assert earn("HTL", nights=1, activity_date=date(2026, 5, 23)).miles == 500
    assert earn("HTL", nights=1, activity_date=TODAY).miles == 500


def test_every_mistake_of_an_activity_is_reported_at_once() -> None:
    error = refusal("HTL", nights=0, days=2, activity_date=date(2026, 12, 1))
    assert isinstance(error, InvalidFields)
    assert sorted(p.field or "" for p in error.problems) == ["activity_date", "days", "nights"]
