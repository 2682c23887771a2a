"""Grouped bar charts as inline SVG: a group of bars per label (a month, a cohort), a bar per series (a
partner, a source), a colour each with a legend, each bar with a <title> of its exact figure and data
attributes the browser tests read. Pure markup, no script, no style sheet from elsewhere (the console's
Content-Security-Policy allows neither), every text escaped. Values may be negative (a catch-up reversing
revenue): the bars then hang below the zero line."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

from miles.console.promotions.chart import nice_ceiling

WIDTH = 760
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 40, 44
# distinguishable, and each at least 3:1 against white (WCAG 1.4.11); repeated past the last
COLOURS = ("#1f5fa8", "#b35c00", "#2e7d32", "#8e24aa", "#00838f", "#c2185b", "#5d4037", "#546e7a")

Number = int | Decimal


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number]  # one per label, in the labels' order


@dataclass(frozen=True)
class Chart:
    testid: str
    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    y_label: str
    x_label: str = "month"
    # the names of the bars' data attributes: data-{series}="..." data-{label}="..." data-{value}="..."
    series_attr: str = "series"
    label_attr: str = "label"
    value_attr: str = "value"
    empty: str = "Nothing to show yet."
    show: Callable[[Number], str] = lambda v: f"{v:,}"


def _extent(values: list[Number]) -> tuple[int, int]:
    """A round top and bottom for the axis, the bottom 0 unless a value is negative."""
    high = nice_ceiling(math.ceil(max([0, *values])))
    lowest = min([0, *values])
    low = -nice_ceiling(math.ceil(-lowest)) if lowest < 0 else 0
    return high, low


def grouped_bars(chart: Chart) -> Markup:
    values = [v for s in chart.series for v in s.values]
    shown = any(v != 0 for v in values)
    desc = f"{len(chart.series)} series over {len(chart.labels)} {chart.x_label}s" if shown else chart.empty
    tid = escape(chart.testid)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{tid}-title {tid}-desc" data-testid="{tid}">',
        f'<title id="{tid}-title">{escape(chart.title)}</title>',
        f'<desc id="{tid}-desc">{escape(desc)}</desc>',
    ]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    high, low = _extent(values)

    def y(value: Number) -> float:
        return TOP + plot_h * (high - float(value)) / (high - low)

    base, zero = TOP + plot_h, y(0)
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="currentColor"/>')
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{zero:.1f}" x2="{LEFT + plot_w}" y2="{zero:.1f}" stroke="currentColor"/>'
    )
    for tick in dict.fromkeys((low, 0, high)):
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="currentColor">{escape(chart.show(tick))}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="12" y="{TOP + plot_h / 2:.1f}" font-size="11" fill="currentColor" '
        f'text-anchor="middle" transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{escape(chart.y_label)}</text>'
    )
    x = float(LEFT)
    for i, s in enumerate(chart.series):  # the legend, above the plot
        parts.append(
            f'<rect class="swatch" x="{x:.1f}" y="12" width="12" height="12" fill="{colour(i)}"/>'
            f'<text x="{x + 16:.1f}" y="22" font-size="11" fill="currentColor">{escape(s.name)}</text>'
        )
        x += 28 + 7 * len(s.name)
    if not shown:
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'font-size="13" fill="currentColor">{escape(chart.empty)}</text>'
        )
    slot = plot_w / max(len(chart.labels), 1)
    group_w = slot * 0.8
    bar_w = max(group_w / max(len(chart.series), 1), 1.0)
    every = max(1, math.ceil(len(chart.labels) / 24))  # at most 24 labels under the axis
    for l_index, label in enumerate(chart.labels):
        left = LEFT + l_index * slot + (slot - group_w) / 2
        for s_index, s in enumerate(chart.series):
            value = s.values[l_index]
            top, bottom = min(y(value), zero), max(y(value), zero)
            tip = f"{s.name} {label}: {chart.show(value)}"
            parts.append(
                f'<rect class="bar" x="{left + s_index * bar_w:.1f}" y="{top:.1f}" width="{bar_w:.1f}" '
                f'height="{bottom - top:.1f}" fill="{colour(s_index)}" '
                f'data-{chart.series_attr}="{escape(s.name)}" data-{chart.label_attr}="{escape(label)}" '
                f'data-{chart.value_attr}="{escape(str(value))}"><title>{escape(tip)}</title></rect>'
            )
        if l_index % every == 0:
            parts.append(
                f'<text class="month" x="{LEFT + l_index * slot + slot / 2:.1f}" y="{base + 16}" '
                f'text-anchor="middle" font-size="10" fill="currentColor">{escape(label)}</text>'
            )
    parts.append(
        f'<text class="axis-label" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
        f'font-size="11" fill="currentColor">{escape(chart.x_label)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
