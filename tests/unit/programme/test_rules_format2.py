"""Rules format 2: every example loads, format 1 reads as the same programme, and each kind of mistake is
refused with the path of the mistake."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from miles.domain.awards import Fare, FlightAward, price_award
from miles.domain.errors import ProgrammeError
from miles.domain.programme.model import FinanceRules
from miles.programme.reading import example_files, read_document, read_file, read_reference

MISTAKES = Path(__file__).parent / "mistakes"
REFERENCE = Path(__file__).parents[3] / "src" / "miles" / "programme" / "aurora.yaml"


def test_the_reference_programme_in_format_1_reads_as_the_shipped_format_2_file() -> None:
    format1 = read_file(Path(__file__).parent / "aurora-format1.yaml")
    format2 = read_reference()
    # format 1 has no partners and no finance section: everything else is the same programme
    assert format1.versions == tuple(
        replace(v, partners={}, finance=FinanceRules()) for v in format2.versions
    )
    assert all(not v.partners and v.finance == FinanceRules() for v in format1.versions)
    assert format2.versions[-1].finance.value_per_mile == Decimal("0.012")
    assert sorted(format2.versions[-1].partners) == ["CAR", "CARD", "HTL"]
    assert format1.document["format"] == 2


@pytest.mark.parametrize("path", [*example_files(), REFERENCE], ids=lambda p: p.name)
def test_every_example_programme_loads_and_reads_back_from_its_stored_document(path: Path) -> None:
    book = read_file(path)
    stored = read_document(book.document)
    assert stored.versions == book.versions
    assert stored.digest == book.digest


def test_the_smallest_valid_programme_loads() -> None:
    book = read_file(MISTAKES / "_valid.yaml")
    assert book.versions[0].ladder.codes == ("BASIC", "SILVER", "GOLD")


@pytest.mark.parametrize(
    ("name", "path", "words"),
    [
        ("unknown-metric-in-threshold", "versions[0].tiers[2].qualify[0].spend", "unknown metric spend"),
        ("tiers-out-of-order", "versions[0].tiers[2].qualify[0]", "tiers out of order"),
        ("band-gap", "versions[0].carriers.TT.credits.xp.bands.table[1].from_miles", "a gap"),
        ("currency-without-rate", "versions[0].rates", "EUR has no rate"),
        ("carrier-without-classes", "versions[0].carriers.TT.classes", "at least 1 item"),
    ],
)
def test_a_mistake_is_refused_with_its_path(name: str, path: str, words: str) -> None:
    with pytest.raises(ProgrammeError) as caught:
        read_file(MISTAKES / f"{name}.yaml")
    assert [(where, words in message) for where, message in caught.value.problems] == [(path, True)]


def test_every_mistake_of_a_file_is_reported_at_once() -> None:
    raw = yaml.safe_load((MISTAKES / "_valid.yaml").read_text())
    version = raw["versions"][0]
    version["rates"] = {"USD": "0.93"}
    version["tiers"][2]["qualify"] = [{"miles": 500}]
    version["awards"]["bands"][1]["from_miles"] = 2005
    with pytest.raises(ProgrammeError) as caught:
        read_document(raw)
    assert sorted(where for where, _ in caught.value.problems) == [
        "versions[0].awards.bands[1].from_miles",
        "versions[0].rates",
        "versions[0].tiers[2].qualify[0].miles",
    ]


def test_a_later_version_keeps_the_tiers_and_the_metrics_in_order() -> None:
    raw = yaml.safe_load((MISTAKES / "_valid.yaml").read_text())
    later = yaml.safe_load((MISTAKES / "_valid.yaml").read_text())["versions"][0]
    later["effective_from"] = "2027-01-01"
    later["metrics"] = [{"code": "segments", "name": "Segments"}, {"code": "xp", "name": "XP"}]
    later["tiers"] = later["tiers"][:2]
    later["carriers"]["TT"]["credits"]["segments"] = {"per_segment": 1}
    raw["versions"].append(later)
    with pytest.raises(ProgrammeError) as caught:
        read_document(raw)
    assert sorted(where for where, _ in caught.value.problems) == ["versions[1].metrics", "versions[1].tiers"]


def test_inactivity_counts_the_activities_the_file_lists_and_always_a_flown_coupon() -> None:
    raw = yaml.safe_load((MISTAKES / "_valid.yaml").read_text())
    version = raw["versions"][0]
    version["expiry"] = {"policy": "inactivity", "months": 24, "activities": ["flight", "goodwill"]}
    policy = read_document(raw).versions[0].expiry
    assert policy.activity_codes == ["flight_accrual", "goodwill", "partner_accrual"]
    del version["expiry"]["activities"]
    assert read_document(raw).versions[0].expiry.activity_codes == [
        "flight_accrual",
        "partner_accrual",
        "redemption",
    ]
    for expiry, words in (
        ({"policy": "inactivity", "months": 24, "activities": ["redemption"]}, "always an activity"),
        ({"policy": "lots", "months": 36, "activities": ["flight"]}, "only go with policy inactivity"),
    ):
        version["expiry"] = expiry
        with pytest.raises(ProgrammeError) as caught:
            read_document(raw)
        [(where, message)] = caught.value.problems
        assert where == "versions[0].expiry"
        assert words in message


def _zoned() -> dict[str, Any]:
    raw = yaml.safe_load((MISTAKES / "_valid.yaml").read_text())
    raw["versions"][0]["awards"]["zones"] = {"EUROPE": ["FR", "DE", "GB"], "NAMERICA": ["US", "CA"]}
    raw["versions"][0]["awards"]["zone_prices"] = [{"between": ["EUROPE", "NAMERICA"], "economy": 30000}]
    return dict(raw)


def test_a_route_between_two_priced_zones_costs_the_zone_price_either_way_else_its_band() -> None:
    awards = read_document(_zoned()).versions[0].awards
    at = date(2027, 1, 10)
    for origin, destination in (("CDG", "JFK"), ("JFK", "LHR")):
        [priced] = price_award(awards, [FlightAward(origin, destination, at, "economy")], [Fare.SAVER]).items
        assert priced.miles == 30000
    # CDG-FRA: both in EUROPE, a pair with no price: the distance band (0-2,000 miles: 10,000)
    [band] = price_award(awards, [FlightAward("CDG", "FRA", at, "economy")], [Fare.SAVER]).items
    assert band.miles == 10000
    # NRT is in no zone: the band (over 2,000 miles: 20,000)
    [far] = price_award(awards, [FlightAward("NRT", "JFK", at, "economy")], [Fare.SAVER]).items
    assert far.miles == 20000


def test_zone_mistakes_are_refused_with_their_paths() -> None:
    raw = _zoned()
    awards = raw["versions"][0]["awards"]
    awards["zones"]["ASIA"] = ["JP", "FR"]
    awards["zone_prices"].append({"between": ["EUROPE", "OCEANIA"], "economy": 1})
    awards["zone_prices"].append({"between": ["NAMERICA", "EUROPE"]})
    with pytest.raises(ProgrammeError) as caught:
        read_document(raw)
    assert sorted(where for where, _ in caught.value.problems) == [
        "versions[0].awards.zone_prices[1].between",
        "versions[0].awards.zone_prices[2]",
        "versions[0].awards.zone_prices[2].between",
        "versions[0].awards.zones.ASIA[1]",
    ]
