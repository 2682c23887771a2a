"""Award pricing and the rules of asking for and cancelling an award (reference programme)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from miles.domain.awards import (
    BaggageAward,
    Fare,
    FlightAward,
    HotelAward,
    cabins,
    cancellation_deadline,
    cancellation_fee,
    check_can_cancel,
    check_can_pay,
    price_award,
    price_item,
    validate_items,
)
from miles.domain.errors import InsufficientMiles, InvalidInput
from miles.domain.programme.bands import BandTable, DistanceBand
from miles.domain.programme.model import Programme

TODAY = date(2026, 11, 23)
TRIP = date(2027, 1, 10)


@pytest.mark.parametrize(
    ("distance", "economy", "business", "first", "bag"),
    [
        (1, 7_500, 15_000, 25_000, 4_000),
        (700, 7_500, 15_000, 25_000, 4_000),
        (701, 10_000, 25_000, 40_000, 4_000),
        (1_500, 10_000, 25_000, 40_000, 4_000),
        (1_501, 15_000, 35_000, 55_000, 8_000),
        (3_000, 15_000, 35_000, 55_000, 8_000),
        (3_001, 25_000, 55_000, 80_000, 8_000),
        (5_000, 25_000, 55_000, 80_000, 8_000),
        (5_001, 35_000, 75_000, 110_000, 12_000),
        (12_000, 35_000, 75_000, 110_000, 12_000),
    ],
)
def test_distance_bands_include_both_ends(
    programme: Programme, distance: int, economy: int, business: int, first: int, bag: int
) -> None:
    band = programme.awards.bands.band(distance)
    assert dict(band.values) == {"economy": economy, "business": business, "first": first, "bag": bag}


def test_a_saver_flight_costs_the_chart_and_a_standard_one_twice(programme: Programme) -> None:
    item = FlightAward("JFK", "LHR", TRIP, "business")  # 3,451 miles
    assert price_item(programme.awards, item, Fare.SAVER).miles == 55_000
    standard = price_item(programme.awards, item, Fare.STANDARD)
    assert (standard.miles, standard.fare) == (110_000, Fare.STANDARD)


def test_a_decimal_standard_multiplier_rounds_the_price_down(programme: Programme) -> None:
    rules = replace(programme.awards, standard_multiplier=Decimal("1.55555"))
    item = FlightAward("JFK", "BOS", TRIP, "economy")  # 7,500 saver
    assert price_item(rules, item, Fare.STANDARD).miles == 11_666  # 11,666.625
    assert price_item(rules, item, Fare.SAVER).miles == 7_500


def test_the_cabins_are_those_the_programme_sells(programme: Programme) -> None:
    assert cabins(programme.awards) == ("economy", "business", "first")
    rules = replace(programme.awards, cabins=("economy",))
    with pytest.raises(InvalidInput) as caught:
        validate_items(rules, [FlightAward("JFK", "LHR", TRIP, "business")], TODAY)
    assert (caught.value.code, caught.value.field) == ("unknown_cabin", "items[0].cabin")


def test_bags_cost_the_band_price_per_piece_and_hotels_the_category_price_per_night(
    programme: Programme,
) -> None:
    assert price_item(programme.awards, BaggageAward("JFK", "NRT", TRIP, 3), None).miles == 36_000
    assert price_item(programme.awards, HotelAward("LON", 4, TRIP, 9), None).miles == 162_000


def test_an_award_costs_the_sum_of_its_items_and_starts_at_its_first_date(programme: Programme) -> None:
    price = price_award(
        programme.awards,
        [FlightAward("JFK", "BOS", TRIP, "economy"), HotelAward("BOS", 1, TRIP - timedelta(days=2), 2)],
        [Fare.SAVER, None],
    )
    assert price.miles == 7_500 + 10_000
    assert price.first_service_date == TRIP - timedelta(days=2)


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (FlightAward("JFK", "LHR", TRIP, "premium_economy"), "items[0].cabin"),
        (FlightAward("JFK", "ZZZ", TRIP, "economy"), "items[0].destination"),
        (FlightAward("JFK", "JFK", TRIP, "economy"), "items[0].destination"),
        (FlightAward("JFK", "LHR", TODAY - timedelta(days=1), "economy"), "items[0].departure_date"),
        (BaggageAward("JFK", "LHR", TRIP, 0), "items[0].pieces"),
        (BaggageAward("JFK", "LHR", TRIP, 4), "items[0].pieces"),
        (HotelAward("LON", 6, TRIP, 1), "items[0].hotel_category"),
        (HotelAward("LON", 1, TRIP, 0), "items[0].nights"),
        (HotelAward("LON", 1, TRIP, 10), "items[0].nights"),
        (HotelAward("lon", 1, TRIP, 1), "items[0].city"),
        (HotelAward("LON", 1, TODAY - timedelta(days=1), 1), "items[0].check_in_date"),
    ],
)
def test_a_request_that_breaks_a_rule_names_the_field(programme: Programme, item: object, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_items(programme.awards, [item], TODAY)  # type: ignore[list-item]
    assert caught.value.field == field


def test_limits_of_a_request_are_inclusive(programme: Programme) -> None:
    validate_items(
        programme.awards,
        [
            FlightAward("JFK", "LHR", TODAY, "first"),
            BaggageAward("JFK", "LHR", TODAY, 3),
            HotelAward("LON", 5, TODAY, 9),
        ],
        TODAY,
    )
    validate_items(programme.awards, [HotelAward("LON", 1, TRIP, 1)] * 10, TODAY)
    with pytest.raises(InvalidInput) as caught:
        validate_items(programme.awards, [HotelAward("LON", 1, TRIP, 1)] * 11, TODAY)
    assert caught.value.field == "items"


def without_bags(programme: Programme) -> BandTable:
    bands = programme.awards.bands
    return replace(
        bands,
        bands=tuple(
            DistanceBand(b.from_miles, b.to_miles, {k: v for k, v in b.values.items() if k != "bag"})
            for b in bands.bands
        ),
    )


def test_a_programme_without_bag_awards_refuses_a_bag_item(programme: Programme) -> None:
    rules = replace(programme.awards, bands=without_bags(programme))
    flight = FlightAward("JFK", "LHR", TRIP, "economy")
    validate_items(rules, [flight], TODAY)
    with pytest.raises(InvalidInput) as caught:
        validate_items(rules, [flight, BaggageAward("JFK", "LHR", TRIP, 1)], TODAY)
    assert (caught.value.code, caught.value.field) == ("not_offered", "items[1].kind")
    assert "no extra bag awards" in caught.value.message


def test_a_programme_without_hotel_awards_refuses_a_hotel_item(programme: Programme) -> None:
    rules = replace(programme.awards, hotel_night_by_category=None)
    validate_items(rules, [BaggageAward("JFK", "LHR", TRIP, 1)], TODAY)
    with pytest.raises(InvalidInput) as caught:
        validate_items(rules, [HotelAward("LON", 1, TRIP, 1)], TODAY)
    assert (caught.value.code, caught.value.field) == ("not_offered", "items[0].kind")
    assert "no hotel awards" in caught.value.message


def test_paying_needs_available_miles_and_no_debt() -> None:
    check_can_pay(balance=25_000, pending=0, miles=25_000)
    with pytest.raises(InsufficientMiles) as caught:
        check_can_pay(balance=30_000, pending=10_000, miles=25_000)
    assert caught.value.missing_miles == 5_000
    assert "5000 missing" in caught.value.message
    with pytest.raises(InvalidInput) as debt:
        check_can_pay(balance=-1, pending=0, miles=1)
    assert debt.value.code == "balance_in_debt"


def test_the_cancellation_fee_is_waived_for_platinum_and_never_above_the_award(programme: Programme) -> None:
    assert cancellation_fee(programme.awards, "GOLD", 25_000) == 3_000
    assert cancellation_fee(programme.awards, "PLATINUM", 25_000) == 0
    assert cancellation_fee(programme.awards, "BLUE", 2_000) == 2_000


def test_cancelling_is_allowed_until_exactly_24_hours_before_the_first_day(programme: Programme) -> None:
    deadline = cancellation_deadline(programme.awards, TRIP, "UTC")
    assert deadline == datetime(2027, 1, 9, tzinfo=UTC)
    check_can_cancel(programme.awards, TRIP, "UTC", deadline)
    with pytest.raises(InvalidInput) as caught:
        check_can_cancel(programme.awards, TRIP, "UTC", deadline + timedelta(seconds=1))
    assert caught.value.code == "cancellation_too_late"
    assert cancellation_deadline(programme.awards, TRIP, "America/New_York") == datetime(
        2027, 1, 9, 5, tzinfo=UTC
    )
