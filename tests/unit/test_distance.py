"""Distances: WGS-84 geodesic between airports, statute miles, rounded half up."""

from __future__ import annotations

import pytest

from miles.domain.distance import distance_miles, is_airport


@pytest.mark.parametrize(
    ("origin", "destination", "miles"),
    [("JFK", "LHR", 3451), ("SEA", "JFK", 2421), ("GSP", "ATL", 153)],
)
def test_distance_matches_reference_miles(origin: str, destination: str, miles: int) -> None:
    assert distance_miles(origin, destination) == miles


@pytest.mark.parametrize(("origin", "destination"), [("JFK", "LHR"), ("SEA", "JFK"), ("GSP", "ATL")])
def test_distance_is_symmetric(origin: str, destination: str) -> None:
    assert distance_miles(destination, origin) == distance_miles(origin, destination)


def test_distance_is_an_integer() -> None:
    assert type(distance_miles("JFK", "LHR")) is int


def test_unknown_airport_raises_key_error() -> None:
    with pytest.raises(KeyError):
        distance_miles("JFK", "QQQ")


@pytest.mark.parametrize("code", ["", "jfk", "QQQ", "JFKX"])
def test_is_airport_rejects_codes_that_are_not_iata_airports(code: str) -> None:
    assert not is_airport(code)


def test_is_airport_knows_real_airports() -> None:
    assert is_airport("JFK")
    assert is_airport("GSP")
