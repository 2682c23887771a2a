"""What rules format 1 fixed (its tiers, accounting currency and metrics), read from format1.yaml: the
format's vocabulary is data, as a format-2 programme's is."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

_FIXED: dict[str, Any] = yaml.safe_load(
    resources.files("miles.programme").joinpath("format1.yaml").read_text(encoding="utf-8")
)

TIERS: tuple[str, ...] = tuple(_FIXED["tiers"])  # the base tier first
BASE_TIER = TIERS[0]
ELITE_TIERS = TIERS[1:]
CURRENCY: str = _FIXED["currency"]
METRICS: list[dict[str, Any]] = list(_FIXED["metrics"])
# the metrics' codes by what credits them: flown distance, one per segment, the fare
DISTANCE_METRIC, SEGMENT_METRIC, FARE_METRIC = (m["code"] for m in METRICS)


def one_of(names: tuple[str, ...]) -> Any:
    """A pydantic after-validator: the value is one of `names`."""

    def check(value: str) -> str:
        if value not in names:
            raise ValueError(f"should be one of {', '.join(names)}")
        return value

    return check


__all__ = [
    "BASE_TIER",
    "CURRENCY",
    "DISTANCE_METRIC",
    "ELITE_TIERS",
    "FARE_METRIC",
    "METRICS",
    "SEGMENT_METRIC",
    "TIERS",
    "one_of",
]
