"""The promotion page's chart of miles awarded per day: one bar per day scaled to a round top, a <title>
per bar with its figures, axis labels, escaped text, and nothing that runs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from miles.console.promotions.chart import miles_per_day_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Day:
    day: date
    miles: int
    bonuses: int


def bars(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f"{SVG}rect")


def test_each_day_is_a_bar_as_tall_as_its_miles_with_its_figures_in_a_title() -> None:
    days = [Day(date(2026, 11, 1), 1000, 2), Day(date(2026, 11, 2), 500, 1)]
    svg = str(miles_per_day_chart(days))
    first, second = bars(svg)
    assert float(first.get("height", "0")) == pytest.approx(2 * float(second.get("height", "0")))
    assert first.findtext(f"{SVG}title") == "2026-11-01: 1,000 miles (2 bonuses)"
    assert second.findtext(f"{SVG}title") == "2026-11-02: 500 miles (1 bonus)"
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert {"0", "1,000", "miles", "day", "2026-11-01", "2026-11-02"} <= set(texts)


def test_the_chart_runs_nothing_and_loads_nothing() -> None:
    svg = str(miles_per_day_chart([Day(date(2026, 11, 1), 10, 1)]))
    assert "<script" not in svg
    assert "style=" not in svg  # inline styles are refused by the console's Content-Security-Policy
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", svg)


def test_text_is_escaped() -> None:
    svg = str(miles_per_day_chart([Day(date(2026, 11, 1), 10, 1)], title="<script>alert(1)</script> & co"))
    assert "<script>" not in svg
    assert ET.fromstring(svg).findtext(f"{SVG}title") == "<script>alert(1)</script> & co"


def test_a_day_given_back_by_reversals_goes_below_the_zero_line() -> None:
    svg = str(miles_per_day_chart([Day(date(2026, 11, 1), 400, 1), Day(date(2026, 11, 2), -200, 0)]))
    up, down = bars(svg)
    zero = float(up.get("y", "0")) + float(up.get("height", "0"))
    assert float(down.get("y", "0")) == pytest.approx(zero)
    assert "-200" in (down.findtext(f"{SVG}title") or "")


def test_no_days_is_a_chart_that_says_so() -> None:
    svg = str(miles_per_day_chart([]))
    assert bars(svg) == []
    assert "No miles awarded yet." in svg


def test_a_long_campaign_labels_at_most_eight_days() -> None:
    start = date(2026, 1, 1)
    days = [Day(start + timedelta(days=i), i, 1) for i in range(90)]
    svg = ET.fromstring(str(miles_per_day_chart(days)))
    assert len(svg.findall(f"{SVG}rect")) == 90
    assert len([t for t in svg.iter(f"{SVG}text") if t.get("class") == "day"]) <= 8


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (3, 5), (20, 20), (21, 25), (2600, 5000), (1_000_001, 2_000_000)]
)
def test_the_axis_tops_at_a_round_number(value: int, top: int) -> None:
    assert nice_ceiling(value) == top
