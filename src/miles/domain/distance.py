"""Great-circle distance on the WGS-84 ellipsoid between two IATA airports, in statute miles."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from typing import Any

import airportsdata
from geographiclib.geodesic import Geodesic

METRES_PER_STATUTE_MILE = Decimal("1609.344")


@cache
def _airports() -> dict[str, Any]:
    return dict(airportsdata.load("IATA"))


def is_airport(code: str) -> bool:
    return code in _airports()


def airport_zone(code: str) -> str | None:
    """The airport's IANA time zone (None for an unknown airport or one without a zone)."""
    entry = _airports().get(code)
    return None if entry is None or not entry.get("tz") else str(entry["tz"])


def airport_country(code: str) -> str | None:
    """The airport's ISO 3166 country code (None for an unknown airport)."""
    entry = _airports().get(code)
    return None if entry is None or not entry.get("country") else str(entry["country"])


def domestic(origin: str, destination: str) -> bool:
    """Origin and destination in the same country."""
    country = airport_country(origin)
    return country is not None and country == airport_country(destination)


@lru_cache(maxsize=65536)
def distance_miles(origin: str, destination: str) -> int:
    """Statute miles, rounded half up; KeyError for an unknown airport."""
    a = _airports()[origin]
    b = _airports()[destination]
    result = Geodesic.WGS84.Inverse(a["lat"], a["lon"], b["lat"], b["lon"], Geodesic.DISTANCE)
    metres = Decimal(repr(result["s12"]))
    return int((metres / METRES_PER_STATUTE_MILE).quantize(Decimal(1), rounding=ROUND_HALF_UP))
