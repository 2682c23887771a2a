"""What the engine asks of a supplier (award-seat inventory, hotels, baggage), one protocol for each.

Every supplier books under an idempotency key chosen by the caller: booking again with the same key
returns the booking already made, never a second one; a booking can be looked up by that key and
cancelled by it (cancelling twice is harmless). A call ends in one of three ways:
- an answer (a Booking, a fare, None for "no booking under this key");
- SupplierRefused: a definite no, nothing was booked (no seats, hotel full...), with the supplier's reason;
- SupplierTimeout (or a connection error): the outcome is unknown; only asking again by key tells.
SupplierRefused and SupplierTimeout are in the error tree (miles.domain.errors); re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from miles.domain.awards import AwardItem, BaggageAward, Fare, FlightAward, HotelAward
from miles.domain.errors import SupplierRefused as SupplierRefused
from miles.domain.errors import SupplierTimeout as SupplierTimeout

BOOKED = "BOOKED"
CANCELLED = "CANCELLED"

ItemT = TypeVar("ItemT", contravariant=True)


@dataclass(frozen=True)
class Booking:
    key: str
    reference: str
    status: str  # BOOKED | CANCELLED

    @property
    def booked(self) -> bool:
        return self.status == BOOKED


class Supplier(Protocol[ItemT]):
    name: str

    def quote(self, item: ItemT) -> Fare | None:
        """Search: for a flight, the award fare the inventory sells now (saver when it has saver seats);
        None for the others. Holds nothing."""
        ...

    def book(self, key: str, item: ItemT, fare: Fare | None) -> Booking:
        """Book under `key`, or return what is already booked under it."""
        ...

    def find(self, key: str) -> Booking | None: ...

    def cancel(self, key: str) -> Booking | None:
        """Cancel what is booked under `key` (None: nothing was)."""
        ...


class AwardSeatInventory(Supplier[FlightAward], Protocol): ...


class HotelSupplier(Supplier[HotelAward], Protocol): ...


class BaggageSupplier(Supplier[BaggageAward], Protocol): ...


@dataclass(frozen=True)
class Suppliers:
    flights: AwardSeatInventory
    hotels: HotelSupplier
    baggage: BaggageSupplier

    def for_item(self, item: AwardItem) -> Supplier[Any]:
        if isinstance(item, FlightAward):
            return self.flights
        if isinstance(item, HotelAward):
            return self.hotels
        return self.baggage
