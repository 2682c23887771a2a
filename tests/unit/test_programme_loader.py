"""The programme loader (miles.programme.reading): the reference file, validation with paths,
effective-dated versions. The reference file is in rules format 1, validated by its own schema first,
so its problems carry format-1 paths."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from miles.domain.errors import ProgrammeError
from miles.domain.programme.carriers import Earning
from miles.domain.programme.model import ExpiryKind
from miles.programme.reading import read_document, read_file, read_reference, read_text

# the reference programme in rules format 1: format-1 files are still read (as format 2), with format-1 paths
FORMAT1 = Path(__file__).parent / "programme" / "aurora-format1.yaml"


def reference_document() -> dict[str, Any]:
    """The reference file as plain data, YAML anchors unshared so one carrier can be changed alone."""
    return json.loads(json.dumps(yaml.safe_load(FORMAT1.read_text(encoding="utf-8")), default=str))


def problems_of(document: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ProgrammeError) as caught:
        read_text(yaml.safe_dump(document, sort_keys=False))
    return caught.value.problems


def paths(problems: list[tuple[str, str]]) -> set[str]:
    return {path for path, _ in problems}


def test_reference_file_loads_aurora_miles() -> None:
    book = read_reference()
    assert book.name == "Aurora Miles"
    programme = book.in_force(date(2026, 11, 23))
    assert set(programme.carriers) == {"ZZ", "YY"}
    assert programme.carriers["ZZ"].earning is Earning.REVENUE
    assert programme.carriers["YY"].earning is Earning.DISTANCE
    assert programme.carriers["ZZ"].revenue_rates is not None
    assert dict(programme.carriers["ZZ"].revenue_rates) == {
        "BLUE": 5,
        "SILVER": 7,
        "GOLD": 8,
        "PLATINUM": 11,
    }
    assert programme.currency == "USD"
    assert programme.rates["EUR"] == Decimal("1.08")
    assert programme.rates["JPY"] == Decimal("0.0067")
    assert programme.carriers["YY"].minimum_miles == 500
    assert programme.carriers["YY"].minimum_from_rank == programme.ladder.rank("SILVER")
    assert programme.ladder.codes == ("BLUE", "SILVER", "GOLD", "PLATINUM")
    assert programme.metric_codes == ("status_miles", "segments", "spend")
    assert programme.expiry.kind is ExpiryKind.LOTS
    assert programme.expiry.months == 36
    assert programme.expiry.exempt_tiers == frozenset({"GOLD", "PLATINUM"})


def test_reference_classes_match_the_design_table() -> None:
    classes = read_reference().in_force(date(2026, 1, 1)).carriers["YY"].classes
    earn = {code: rule.earn_percent for code, rule in classes.items()}
    expected = {
        **dict.fromkeys("FA", 150),
        **dict.fromkeys("JCD", 125),
        **dict.fromkeys("IWEYBH", 100),
        **dict.fromkeys("KML", 50),
        **dict.fromkeys("VSNQ", 25),
        **dict.fromkeys("OG", 0),
    }
    assert earn == expected
    assert all(rule.qualifying_percent == rule.earn_percent for rule in classes.values())


def test_reference_award_bands_are_contiguous() -> None:
    bands = read_reference().in_force(date(2026, 1, 1)).awards.bands.bands
    assert [(b.from_miles, b.to_miles) for b in bands] == [
        (0, 700),
        (701, 1500),
        (1501, 3000),
        (3001, 5000),
        (5001, None),
    ]
    assert bands[3].values["economy"] == 25_000


def test_the_digest_follows_the_rules_not_the_layout_of_the_file() -> None:
    reference = read_file(FORMAT1).digest
    document = reference_document()
    assert len(reference) == 64
    # the same rules written in another key order and style: the same programme, the same digest
    reordered = yaml.safe_dump(
        dict(reversed(list(document.items()))), sort_keys=True, default_flow_style=True
    )
    assert read_text(reordered).digest == reference
    # one number changed: another programme, another digest
    document["versions"][0]["goodwill_agent_limit"] += 1
    assert read_text(yaml.safe_dump(document)).digest != reference


def test_every_mistake_is_reported_with_its_path() -> None:
    document = reference_document()
    version = document["versions"][0]
    version["carriers"]["YY"]["classes"]["Y"]["earn_percent"] = -5
    version["goodwill_agent_limt"] = version.pop("goodwill_agent_limit")
    del version["carriers"]["ZZ"]["revenue_rates"]
    version["timezone"] = "Mars/Olympus_Mons"

    found = paths(problems_of(document))

    assert "versions[0].carriers.YY.classes.Y.earn_percent" in found
    assert "versions[0].goodwill_agent_limt" in found  # the misspelling
    assert "versions[0].goodwill_agent_limit" in found  # and the key it leaves missing
    assert "versions[0].carriers.ZZ.revenue_rates" in found  # revenue carrier without rates
    assert "versions[0].timezone" in found


def test_problem_messages_say_what_is_wrong() -> None:
    document = reference_document()
    document["versions"][0]["timezone"] = "Mars/Olympus_Mons"
    del document["versions"][0]["carriers"]["ZZ"]["revenue_rates"]
    messages = dict(problems_of(document))
    assert "Mars/Olympus_Mons" in messages["versions[0].timezone"]
    assert "revenue_rates" in messages["versions[0].carriers.ZZ.revenue_rates"]


def test_problem_in_second_version_names_its_index() -> None:
    document = reference_document()
    second = copy.deepcopy(document["versions"][0])
    second["effective_from"] = "2027-01-01"
    second["currencies"]["EUR"] = "-1"
    document["versions"].append(second)
    assert "versions[1].currencies" in paths(problems_of(document))


def test_mistakes_in_the_same_carrier_are_all_reported() -> None:
    document = reference_document()
    zz = document["versions"][0]["carriers"]["ZZ"]
    zz["classes"]["Y"]["earn_percent"] = -5
    del zz["revenue_rates"]
    found = paths(problems_of(document))
    assert "versions[0].carriers.ZZ.classes.Y.earn_percent" in found
    assert "versions[0].carriers.ZZ.revenue_rates" in found


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda v: v["tiers"].reverse(), "versions[0].tiers"),
        (lambda v: v["currencies"].pop("USD"), "versions[0].currencies"),
        (
            lambda v: v["carriers"]["YY"].update(revenue_rates={"BLUE": 1}),
            "versions[0].carriers.YY.revenue_rates",
        ),
        (
            lambda v: v["carriers"]["YY"]["classes"]["Y"].update(cabin="steerage"),
            "versions[0].carriers.YY.classes.Y.cabin",
        ),
        (lambda v: v["awards"]["bands"][-1].update(max_miles=9000), "versions[0].awards"),
        (lambda v: v["expiry"].update(policy="forever"), "versions[0].expiry.policy"),
        (
            lambda v: v["promotions"].append(
                {"code": "P1", "carriers": ["QQ"], "from_date": "2026-01-01", "to_date": "2026-02-01"}
            ),
            "versions[0]",
        ),
    ],
    ids=[
        "tiers_out_of_order",
        "usd_missing",
        "rates_on_distance_carrier",
        "unknown_cabin",
        "last_band_closed",
        "unknown_expiry_policy",
        "promotion_unknown_carrier",
    ],
)
def test_single_rule_breaks_are_reported(change, path) -> None:
    document = reference_document()
    change(document["versions"][0])
    assert path in paths(problems_of(document))


def test_invalid_yaml_syntax_raises_programme_error() -> None:
    with pytest.raises(ProgrammeError) as caught:
        read_text("programme: [unclosed\nversions: {")
    assert len(caught.value.problems) == 1
    where, message = caught.value.problems[0]
    assert where.startswith("line ")
    assert "not valid YAML" in message


@pytest.mark.parametrize("text", ["", "- a list\n", "42\n"])
def test_a_file_that_is_not_a_mapping_is_refused(text: str) -> None:
    with pytest.raises(ProgrammeError) as caught:
        read_text(text)
    assert caught.value.problems[0][0] == "(file)"


def test_error_message_lists_every_problem() -> None:
    document = reference_document()
    document["versions"][0]["timezone"] = "Nowhere/Atlantis"
    document["versions"][0]["goodwill_agent_limit"] = -1
    with pytest.raises(ProgrammeError) as caught:
        read_text(yaml.safe_dump(document))
    assert caught.value.code == "invalid_programme"
    assert "versions[0].timezone" in str(caught.value)
    assert "versions[0].goodwill_agent_limit" in str(caught.value)


def test_a_document_is_read_as_the_file_is() -> None:
    assert read_document(reference_document()).digest == read_file(FORMAT1).digest
    with pytest.raises(ProgrammeError) as caught:
        read_document(["not", "a", "mapping"])
    assert caught.value.problems[0][0] == "(file)"


def two_version_text() -> str:
    document = reference_document()
    later = copy.deepcopy(document["versions"][0])
    later["effective_from"] = "2027-01-01"
    later["elite_minimum"]["miles"] = 1000
    later["carriers"]["ZZ"]["revenue_rates"]["BLUE"] = 6
    document["versions"].insert(0, later)  # out of order in the file on purpose
    return yaml.safe_dump(document, sort_keys=False)


@pytest.mark.parametrize(
    ("on", "elite_minimum", "blue_rate"),
    [
        (date(2020, 1, 1), 500, 5),
        (date(2026, 12, 31), 500, 5),
        (date(2027, 1, 1), 1000, 6),
        (date(2030, 6, 1), 1000, 6),
    ],
)
def test_in_force_picks_the_version_effective_on_the_date(on, elite_minimum, blue_rate) -> None:
    book = read_text(two_version_text())
    assert [v.effective_from for v in book.versions] == [date(2020, 1, 1), date(2027, 1, 1)]
    programme = book.in_force(on)
    assert programme.carriers["YY"].minimum_miles == elite_minimum
    rates = programme.carriers["ZZ"].revenue_rates
    assert rates is not None
    assert rates["BLUE"] == blue_rate


def test_two_versions_with_the_same_date_are_refused() -> None:
    document = reference_document()
    document["versions"].append(copy.deepcopy(document["versions"][0]))
    assert "versions" in paths(problems_of(document))
