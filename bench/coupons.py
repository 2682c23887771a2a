"""Realistic flown coupons for the load: routes between large airports, a booking-class mix, past departures.

The reference programme (Aurora) gets today's coupons exactly: partner YY, its class mix, no fare, so its
figures stay comparable to the recorded ones. Any other programme gets a `CouponMix` made from its rules
(`mix_for`): its carriers in turn, each carrier's own classes weighted towards economy (a few classes that
earn nothing where it has them), and a fare in a currency of its rate table where the carrier earns on
revenue or credits a metric on the fare.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
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
FARE_COLUMNS = ("fare_amount", "fare_currency")  # after COLUMNS, in a programme mix's coupons

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

# a programme's classes: weight per class by cabin (economy classes are the most numerous, and each weighs
# most), 1 for a class that earns nothing; a fare in the accounting currency by cabin (low, high)
_CABIN_WEIGHT = {"economy": 8, "premium_economy": 4, "business": 3, "first": 1}
_CABIN_FARE = {
    "economy": (80, 900),
    "premium_economy": (300, 1800),
    "business": (900, 6000),
    "first": (2000, 9000),
}
_HOME_CURRENCY_SHARE = 0.6  # the other currencies of the rate table share the rest


@dataclass(frozen=True)
class CarrierMix:
    code: str
    classes: tuple[str, ...]
    cum_weights: tuple[int, ...]
    cabins: tuple[str, ...]  # each class's cabin
    fares: bool  # the coupon carries a fare


@dataclass(frozen=True)
class CouponMix:
    """What a programme's coupons look like; plain values, so load processes receive it pickled."""

    carriers: tuple[CarrierMix, ...]
    currency: str  # the accounting currency
    rates: tuple[tuple[str, str], ...]  # (currency, value of one unit in the accounting currency)


def mix_for(programme: Any) -> CouponMix:
    """A programme's coupon mix (a miles.domain.programme.model.Programme)."""
    carriers = []
    for code, rule in programme.carriers.items():
        classes = tuple(rule.classes)
        weights = [_CABIN_WEIGHT.get(k.cabin, 1) if k.earn_percent > 0 else 1 for k in rule.classes.values()]
        fares = rule.earning.value == "revenue" or any(c.kind.value == "fare" for c in rule.credits)
        carriers.append(
            CarrierMix(
                code,
                classes,
                tuple(itertools.accumulate(weights)),
                tuple(k.cabin for k in rule.classes.values()),
                fares,
            )
        )
    rates = tuple((c, str(r)) for c, r in programme.rates.items())
    return CouponMix(tuple(carriers), programme.currency, rates)


class CouponFactory:
    """Makes coupon tuples (in COLUMNS order) with ticket numbers unique within a run.

    A ticket number is 13 digits: a phase digit, a two-digit stream number (one per load process)
    and a ten-digit counter, so concurrent streams never collide.
    """

    def __init__(
        self, members: list[str], phase: int, stream: int = 0, seed: int = 0, mix: CouponMix | None = None
    ) -> None:
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
        self.mix = mix
        if mix is not None:
            others = [(c, Decimal(r)) for c, r in mix.rates if c != mix.currency]
            self._home_rate = Decimal(dict(mix.rates).get(mix.currency, "1"))
            self._others = others

    def _ticket(self) -> str:
        self.counter += 1
        return f"{self.prefix}{self.counter:010d}"

    def _route(self) -> tuple[str, str]:
        origin, destination = self.rng.sample(AIRPORTS, 2)
        return origin, destination

    def _class(self) -> str:
        return self.rng.choices(_CLASSES, cum_weights=_CUM_WEIGHTS)[0]

    def _carrier(self) -> CarrierMix:
        """The programme's carriers in turn, one ticket each."""
        assert self.mix is not None
        return self.mix.carriers[self.counter % len(self.mix.carriers)]

    def _mixed_class(self, carrier: CarrierMix) -> tuple[str, str]:
        index = self.rng.choices(range(len(carrier.classes)), cum_weights=carrier.cum_weights)[0]
        return carrier.classes[index], carrier.cabins[index]

    def _fare(self, carrier: CarrierMix, cabin: str) -> tuple[str | None, str | None]:
        """(amount, currency): a fare in the accounting currency or another of the rate table."""
        if not carrier.fares:
            return None, None
        low, high = _CABIN_FARE.get(cabin, _CABIN_FARE["economy"])
        value = Decimal(self.rng.randint(low * 100, high * 100)) / 100  # in the accounting currency
        currency, rate = self.mix.currency, self._home_rate  # type: ignore[union-attr]
        if self._others and self.rng.random() >= _HOME_CURRENCY_SHARE:
            currency, rate = self.rng.choice(self._others)
        amount = (value / rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return str(amount), currency

    def _mixed_itinerary(self, coupons: int) -> list[tuple[Any, ...]]:
        carrier = self._carrier()
        member = self.rng.choice(self.members)
        ticket = self._ticket()
        origin, destination = self._route()
        booking_class, cabin = self._mixed_class(carrier)
        out_index = self.rng.randrange(4, len(self.dates))
        flight = self.rng.randint(1, 9998)
        out = []
        for n in range(coupons):
            date = self.dates[out_index] if n == 0 else self.dates[out_index - self.rng.randint(1, 4)]
            legs = (origin, destination) if n == 0 else (destination, origin)
            out.append(
                (member, ticket, n + 1, carrier.code, carrier.code, str(flight + n), *legs, date,
                 booking_class, *self._fare(carrier, cabin))
            )  # fmt: skip
        return out

    def single(self) -> tuple[Any, ...]:
        """One one-way coupon (coupon 1 of its own ticket) for a random member."""
        if self.mix is not None:
            return self._mixed_itinerary(1)[0]
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
        if self.mix is not None:
            return self._mixed_itinerary(2)
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
    if len(coupon) == len(COLUMNS):
        return dict(zip(COLUMNS, coupon, strict=True))
    out = dict(zip(COLUMNS, coupon[: len(COLUMNS)], strict=True))
    amount, currency = coupon[len(COLUMNS) :]
    if amount is not None:
        out["fare"] = {"amount": amount, "currency": currency}
    return out


def encode(coupon: tuple[Any, ...]) -> bytes:
    return json.dumps(as_json(coupon), separators=(",", ":")).encode()


def encode_batch(items: list[tuple[Any, ...]]) -> bytes:
    return json.dumps({"items": [as_json(c) for c in items]}, separators=(",", ":")).encode()
