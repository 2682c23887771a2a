"""One clock for every time rule; tests and demos can pin it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a clock gives timezone-aware instants")
        self.at = at

    def now(self) -> datetime:
        return self.at


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def today(clock: Clock, timezone: str) -> date:
    return clock.now().astimezone(_zone(timezone)).date()


@lru_cache(maxsize=4096)  # a batch of coupons has a few hundred departure dates at most
def start_of_day(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_zone(timezone))
