"""Tables by distance band (and an optional domestic row), for qualifying credits and award prices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class DistanceBand:
    from_miles: int
    to_miles: int | None  # inclusive; None: open-ended (the last band)
    values: Mapping[str, int]  # a cabin (or an item kind such as "bag") -> its value

    def holds(self, distance: int) -> bool:
        return distance >= self.from_miles and (self.to_miles is None or distance <= self.to_miles)


@dataclass(frozen=True)
class BandTable:
    bands: tuple[DistanceBand, ...]  # contiguous from 0, the last open-ended (the loader checks)
    domestic: Mapping[str, int] | None = None  # origin and destination in the same country

    def band(self, distance: int) -> DistanceBand:
        for band in self.bands:
            if band.holds(distance):
                return band
        return self.bands[-1]

    def value(self, distance: int, key: str, domestic: bool = False) -> int:
        """The value for a distance (or the domestic row) and a cabin; 0 where the table has none."""
        if domestic and self.domestic is not None:
            return self.domestic.get(key, 0)
        return self.band(distance).values.get(key, 0)
