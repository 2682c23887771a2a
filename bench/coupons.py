"""Realistic flown YY coupons for the load: partner routes, a booking-class mix, past departures."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from typing import Any

COLUMNS = (
    "member_number",
    "ticket_number",
    "coupon_number",
    "marketing_carrier",
    "operating_carrier",
    "flight_number",
    "origin",
    "destination",
    "departure_date",
    "booking_class",
)

AIRPORTS = (
    "JFK", "LHR", "CDG", "FRA", "AMS", "MAD", "BCN", "FCO", "MUC", "ZRH",
    "DXB", "SIN", "HKG", "NRT", "LAX", "SFO", "ORD", "ATL", "BOS", "MIA",
    "YYZ", "GRU", "SYD", "JNB", "IST", "DOH", "ICN", "DEL", "MEX", "SEA",
    "CPH", "OSL", "ARN", "HEL", "VIE", "LIS", "DUB", "EWR", "IAD", "DFW",
)  # fmt: skip

# Booking classes weighted roughly like a partner's flown traffic: mostly economy, some premium.
_CLASS_WEIGHTS = {
    "Y": 14, "B": 8, "H": 8, "K": 10, "M": 10, "L": 8, "V": 6, "S": 5, "N": 4, "Q": 4,
    "O": 1, "G": 1, "W": 4, "E": 3, "J": 4, "C": 3, "D": 2, "I": 2, "F": 1, "A": 1,
}  # fmt: skip
_CLASSES = tuple(_CLASS_WEIGHTS)
_CUM_WEIGHTS = tuple(itertools.accumulate(_CLASS_WEIGHTS.values()))


class CouponFactory:
    """Makes coupon tuples (in COLUMNS order) with ticket numbers unique within a run.

    A ticket number is 13 digits: a phase digit, a two-digit stream number (one per load process)
    and a ten-digit counter, so concurrent streams never collide.
    """

    def __init__(self, members: list[str], phase: int, stream: int = 0, seed: int = 0) -> None:
        if not members:
            raise ValueError("no members to accrue to")
        if not (1 <= phase <= 9 and 0 <= stream <= 99):
            raise ValueError("phase is one digit, stream two")
        self.members = members
        self.prefix = f"{phase}{stream:02d}"
        self.counter = 0
        self.rng = random.Random(seed * 1_000 + phase * 100 + stream)
        today = dt.date.today()
        # Only flown coupons earn, within the 6-month accrual window: departures 180 to 7 days ago.
        self.dates = [(today - dt.timedelta(days=d)).isoformat() for d in range(7, 181)]

    def _ticket(self) -> str:
        self.counter += 1
        return f"{self.prefix}{self.counter:010d}"

    def _route(self) -> tuple[str, str]:
        origin, destination = self.rng.sample(AIRPORTS, 2)
        return origin, destination

    def _class(self) -> str:
        return self.rng.choices(_CLASSES, cum_weights=_CUM_WEIGHTS)[0]

    def single(self) -> tuple[Any, ...]:
        """One one-way coupon (coupon 1 of its own ticket) for a random member."""
        origin, destination = self._route()
        return (
            self.rng.choice(self.members),
            self._ticket(),
            1,
            "YY",
            "YY",
            str(self.rng.randint(1, 9999)),
            origin,
            destination,
            self.rng.choice(self.dates),
            self._class(),
        )

    def itinerary(self) -> list[tuple[Any, ...]]:
        """A return trip: coupons 1 and 2 of one ticket, same member and class."""
        member = self.rng.choice(self.members)
        ticket = self._ticket()
        origin, destination = self._route()
        booking_class = self._class()
        out_index = self.rng.randrange(4, len(self.dates))
        back_date = self.dates[out_index - self.rng.randint(1, 4)]
        flight = self.rng.randint(1, 9998)
        return [
            (member, ticket, 1, "YY", "YY", str(flight), origin, destination,
             self.dates[out_index], booking_class),
            (member, ticket, 2, "YY", "YY", str(flight + 1), destination, origin, back_date,
             booking_class),
        ]  # fmt: skip

    def batch(self, size: int) -> list[tuple[Any, ...]]:
        items: list[tuple[Any, ...]] = []
        while len(items) < size:
            items.extend(self.itinerary())
        return items[:size]


def as_json(coupon: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(COLUMNS, coupon, strict=True))


def encode(coupon: tuple[Any, ...]) -> bytes:
    return json.dumps(as_json(coupon), separators=(",", ":")).encode()


def encode_batch(items: list[tuple[Any, ...]]) -> bytes:
    return json.dumps({"items": [as_json(c) for c in items]}, separators=(",", ":")).encode()
