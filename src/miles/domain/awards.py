"""Awards paid in miles: what may be asked for, what it costs, and the rules of cancelling it.

Flights and extra bags are priced per segment by the route's zone pair where the programme prices it,
else by the distance band of the route; a flight is "saver"
when the inventory has saver seats, otherwise "standard" at the programme's multiplier (rounded down).
Hotel nights cost the category's price times the nights. A programme may offer no bag or no hotel awards:
such items are refused (`not_offered`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN
from enum import StrEnum
from zoneinfo import ZoneInfo

from miles.domain.distance import airport_country, distance_miles, is_airport
from miles.domain.errors import InsufficientMiles, InvalidInput
from miles.domain.programme.model import AwardRules

MAX_ITEMS = 10
MAX_NIGHTS = 9
MAX_BAGS = 3
BAG = "bag"


class Fare(StrEnum):
    SAVER = "saver"
    STANDARD = "standard"


@dataclass(frozen=True)
class FlightAward:
    origin: str
    destination: str
    departure_date: date
    cabin: str
    kind = "flight"

    @property
    def service_date(self) -> date:
        return self.departure_date


@dataclass(frozen=True)
class BaggageAward:
    origin: str
    destination: str
    departure_date: date
    pieces: int
    kind = "baggage"

    @property
    def service_date(self) -> date:
        return self.departure_date


@dataclass(frozen=True)
class HotelAward:
    city: str
    hotel_category: int
    check_in_date: date
    nights: int
    kind = "hotel"

    @property
    def service_date(self) -> date:
        return self.check_in_date


AwardItem = FlightAward | BaggageAward | HotelAward


@dataclass(frozen=True)
class PricedItem:
    item: AwardItem
    miles: int
    fare: Fare | None  # flights only


@dataclass(frozen=True)
class AwardPrice:
    items: tuple[PricedItem, ...]

    @property
    def miles(self) -> int:
        return sum(p.miles for p in self.items)

    @property
    def first_service_date(self) -> date:
        return min(p.item.service_date for p in self.items)


def cabins(rules: AwardRules) -> tuple[str, ...]:
    """The cabins the programme sells, in its rules file's order."""
    return rules.cabins


def _offered(rules: AwardRules, index: int, item: AwardItem) -> None:
    """Bag and hotel awards exist only where the programme prices them."""
    missing = None
    if isinstance(item, BaggageAward) and not rules.bags:
        missing = "extra bag"
    elif isinstance(item, HotelAward) and rules.hotel_night_by_category is None:
        missing = "hotel"
    if missing is not None:
        raise InvalidInput(
            f"the programme offers no {missing} awards",
            field=f"items[{index}].kind",
            code="not_offered",
        )


def _route(index: int, origin: str, destination: str) -> None:
    for name, code in (("origin", origin), ("destination", destination)):
        if not is_airport(code):
            raise InvalidInput(
                f"unknown airport {code!r}", field=f"items[{index}].{name}", code="unknown_airport"
            )
    if origin == destination:
        raise InvalidInput("origin and destination are the same airport", field=f"items[{index}].destination")


def _bookable(rules: AwardRules, index: int, name: str, day: date, today: date) -> None:
    """Neither in the past nor beyond the programme's booking horizon."""
    if day < today:
        raise InvalidInput(
            f"{name} {day} is in the past", field=f"items[{index}].{name}", code="date_in_past"
        )
    last = today + timedelta(days=rules.booking_horizon_days)
    if day > last:
        raise InvalidInput(
            f"{name} {day} is beyond the booking horizon: awards are booked up to "
            f"{rules.booking_horizon_days} days ahead (until {last.isoformat()})",
            field=f"items[{index}].{name}",
            code="beyond_booking_horizon",
        )


def validate_items(rules: AwardRules, items: Sequence[AwardItem], today: date) -> None:
    """Every rule an award request must meet; raises InvalidInput naming the item's field."""
    if not 1 <= len(items) <= MAX_ITEMS:
        raise InvalidInput(f"an award has 1 to {MAX_ITEMS} items", field="items")
    for i, item in enumerate(items):
        _offered(rules, i, item)
        if isinstance(item, FlightAward | BaggageAward):
            _route(i, item.origin, item.destination)
            _bookable(rules, i, "departure_date", item.departure_date, today)
        if isinstance(item, FlightAward) and item.cabin not in cabins(rules):
            raise InvalidInput(
                f"there is no award cabin {item.cabin!r}; the cabins are {', '.join(cabins(rules))}",
                field=f"items[{i}].cabin",
                code="unknown_cabin",
            )
        if isinstance(item, BaggageAward) and not 1 <= item.pieces <= MAX_BAGS:
            raise InvalidInput(
                f"extra bags are 1 to {MAX_BAGS} pieces", field=f"items[{i}].pieces", code="invalid_pieces"
            )
        if isinstance(item, HotelAward):
            categories = rules.hotel_night_by_category or {}
            if item.hotel_category not in categories:
                known = ", ".join(str(c) for c in sorted(categories))
                raise InvalidInput(
                    f"there is no hotel category {item.hotel_category}; the categories are {known}",
                    field=f"items[{i}].hotel_category",
                    code="unknown_hotel_category",
                )
            if not 1 <= item.nights <= MAX_NIGHTS:
                raise InvalidInput(
                    f"a hotel award is 1 to {MAX_NIGHTS} nights",
                    field=f"items[{i}].nights",
                    code="invalid_nights",
                )
            if len(item.city) != 3 or not (
                item.city.isascii() and item.city.isalpha() and item.city.isupper()
            ):
                raise InvalidInput("a city is its 3-letter IATA code", field=f"items[{i}].city")
            _bookable(rules, i, "check_in_date", item.check_in_date, today)


def _route_prices(rules: AwardRules, origin: str, destination: str) -> Mapping[str, int]:
    return rules.prices(
        airport_country(origin), airport_country(destination), distance_miles(origin, destination)
    )


def price_item(rules: AwardRules, item: AwardItem, fare: Fare | None) -> PricedItem:
    """The miles of one validated item; `fare` is the inventory's answer for a flight."""
    if isinstance(item, FlightAward):
        chosen = fare or Fare.STANDARD
        miles = _route_prices(rules, item.origin, item.destination)[item.cabin]
        if chosen is Fare.STANDARD:
            miles = int((miles * rules.standard_multiplier).to_integral_value(rounding=ROUND_DOWN))
        return PricedItem(item, miles, chosen)
    if isinstance(item, BaggageAward):
        bag = _route_prices(rules, item.origin, item.destination)[BAG]
        return PricedItem(item, bag * item.pieces, None)
    assert rules.hotel_night_by_category is not None  # validate_items refuses hotels where none are offered
    return PricedItem(item, rules.hotel_night_by_category[item.hotel_category] * item.nights, None)


def price_award(rules: AwardRules, items: Sequence[AwardItem], fares: Sequence[Fare | None]) -> AwardPrice:
    return AwardPrice(tuple(price_item(rules, item, fare) for item, fare in zip(items, fares, strict=True)))


def check_can_pay(balance: int, pending: int, miles: int) -> None:
    """A member in debt cannot redeem; nor one whose available miles (balance - holds) fall short."""
    if balance < 0:
        raise InvalidInput(
            f"the member's balance is {balance} miles (in debt): no award until it is repaid",
            field="member_number",
            code="balance_in_debt",
        )
    available = balance - pending
    if available < miles:
        raise InsufficientMiles(needed=miles, available=available)


def cancellation_fee(rules: AwardRules, tier: str, miles: int) -> int:
    """The fee for cancelling an award of `miles` for a member at tier code `tier`: none at a tier with
    the fee waived, never more than the award."""
    if tier in rules.cancel_fee_waived_tiers:
        return 0
    return min(rules.cancel_fee_miles, miles)


def cancellation_deadline(rules: AwardRules, first_service_date: date, timezone: str) -> datetime:
    """The last instant a confirmed award may be cancelled: `cancel_cutoff_hours` before the start of
    its first departure or check-in day (the day's first minute, in the programme's time zone)."""
    starts = datetime.combine(first_service_date, time.min, tzinfo=ZoneInfo(timezone))
    return starts - timedelta(hours=rules.cancel_cutoff_hours)


def check_can_cancel(rules: AwardRules, first_service_date: date, timezone: str, now: datetime) -> None:
    deadline = cancellation_deadline(rules, first_service_date, timezone)
    if now > deadline:
        raise InvalidInput(
            f"an award is cancelled at least {rules.cancel_cutoff_hours} hours before its first departure "
            f"or check-in ({first_service_date}); the last moment was {deadline.isoformat()}",
            code="cancellation_too_late",
        )
