"""A promotion's miles awarded per day as an inline SVG bar chart: pure markup, no script, no style sheet
from elsewhere (the console's Content-Security-Policy allows neither), every text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 44
MOST_DAY_LABELS = 8


class Day(Protocol):
    @property
    def day(self) -> date: ...

    @property
    def miles(self) -> int: ...

    @property
    def bonuses(self) -> int: ...


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above `value` (at least 1): a round top for the axis."""
    if value <= 1:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 2.5, 5):
            top = int(step * factor)
            if top >= value and top == step * factor:
                return top
        step *= 10


def _label_every(count: int) -> int:
    return max(1, -(-count // MOST_DAY_LABELS))


def _bonuses(n: int) -> str:
    return f"{n:,} bonus" if n == 1 else f"{n:,} bonuses"


def miles_per_day_chart(
    days: Sequence[Day], title: str = "Miles awarded per day", ident: str = "chart"
) -> Markup:
    """An SVG bar chart of `days` (in date order): one bar per day, days on x, miles on y (net of
    reversals, so a day may be below zero), a <title> per bar for its exact figures."""
    t_id, d_id = f"{ident}-title", f"{ident}-desc"
    total = sum(d.miles for d in days)
    desc = f"{len(days):,} days, {total:,} miles in all" if days else "No miles awarded yet."
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{escape(t_id)} {escape(d_id)}" '
        f'data-testid="awards-chart">',
        f'<title id="{escape(t_id)}">{escape(title)}</title>',
        f'<desc id="{escape(d_id)}">{escape(desc)}</desc>',
    ]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    high = nice_ceiling(max([0, *(d.miles for d in days)]))
    lowest = min([0, *(d.miles for d in days)])
    low = -nice_ceiling(-lowest) if lowest < 0 else 0
    span = high - low

    def y(value: int) -> float:
        return TOP + plot_h * (high - value) / span

    # the axes and the y labels: the bottom, zero (when the bottom is below it) and the top
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="currentColor"/>'
    )
    zero = y(0)
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{zero:.1f}" x2="{LEFT + plot_w}" y2="{zero:.1f}" '
        'stroke="currentColor"/>'
    )
    for tick in sorted({low, 0, high}):
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="currentColor">{escape(f"{tick:,}")}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="12" y="{TOP + plot_h / 2:.1f}" font-size="11" fill="currentColor" '
        f'text-anchor="middle" transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">miles</text>'
    )
    if not days:
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'font-size="13" fill="currentColor">{escape(desc)}</text>'
        )
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.8, 1.0)
    every = _label_every(len(days))
    for i, d in enumerate(days):
        x = LEFT + i * slot + (slot - bar_w) / 2
        top, bottom = y(max(d.miles, 0)), y(min(d.miles, 0))
        tip = f"{d.day.isoformat()}: {d.miles:,} miles ({_bonuses(d.bonuses)})"
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top:.1f}" width="{bar_w:.1f}" '
            f'height="{max(bottom - top, 0.0):.1f}" fill="{"#b3261e" if d.miles < 0 else "#1f5fa8"}" '
            f'data-day="{escape(d.day.isoformat())}" data-miles="{d.miles}">'
            f"<title>{escape(tip)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text class="day" x="{x + bar_w / 2:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
                f'font-size="10" fill="currentColor">{escape(d.day.isoformat())}</text>'
            )
    parts.append(
        f'<text class="axis-label" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
        'font-size="11" fill="currentColor">day</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
