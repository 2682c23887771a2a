"""Miles issued per partner per month as an inline SVG bar chart, grouped by month (one bar per partner,
a colour each, a legend): pure markup, no script, no style sheet from elsewhere (the console's
Content-Security-Policy allows neither), every text escaped."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from miles.console.promotions.chart import nice_ceiling
from miles.services.partners.settlement import PartnerMonths

WIDTH = 760
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 40, 44
# distinguishable, and each at least 3:1 against white (WCAG 1.4.11); repeated past the last
COLOURS = ("#1f5fa8", "#b35c00", "#2e7d32", "#8e24aa", "#00838f", "#c2185b", "#5d4037", "#546e7a")


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def issued_chart(
    months: Sequence[str],
    partners: Sequence[PartnerMonths],
    title: str = "Miles issued per partner per month",
) -> Markup:
    """An SVG of `partners`' miles issued in each of `months` (oldest first): a group of bars per month, a
    bar per partner (in the partners' order), each with a <title> of its exact figure."""
    total = sum(line.miles_issued for p in partners for line in p.months)
    desc = (
        f"{len(partners)} partners over {len(months)} months, {total:,} miles issued in all"
        if total
        else "No miles issued by partners in these months."
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="issued-title issued-desc" data-testid="issued-chart">',
        f'<title id="issued-title">{escape(title)}</title>',
        f'<desc id="issued-desc">{escape(desc)}</desc>',
    ]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    high = nice_ceiling(max([0, *(line.miles_issued for p in partners for line in p.months)]))

    def y(value: int) -> float:
        return TOP + plot_h * (high - value) / high

    base = TOP + plot_h
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="currentColor"/>')
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w}" y2="{base}" stroke="currentColor"/>'
    )
    for tick in (0, high // 2 if high % 2 == 0 else None, high):
        if tick is None:
            continue
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="currentColor">{escape(f"{tick:,}")}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="12" y="{TOP + plot_h / 2:.1f}" font-size="11" fill="currentColor" '
        f'text-anchor="middle" transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">miles issued</text>'
    )
    # the legend, above the plot: a swatch and the partner's code for each partner
    x = float(LEFT)
    for i, p in enumerate(partners):
        parts.append(
            f'<rect class="swatch" x="{x:.1f}" y="12" width="12" height="12" fill="{colour(i)}"/>'
            f'<text x="{x + 16:.1f}" y="22" font-size="11" fill="currentColor">{escape(p.partner)}</text>'
        )
        x += 28 + 7 * len(p.partner)
    if not total:
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'font-size="13" fill="currentColor">{escape(desc)}</text>'
        )
    slot = plot_w / max(len(months), 1)
    group_w = slot * 0.8
    bar_w = max(group_w / max(len(partners), 1), 1.0)
    for m_index, month in enumerate(months):
        left = LEFT + m_index * slot + (slot - group_w) / 2
        for p_index, p in enumerate(partners):
            line = p.months[m_index]
            top = y(line.miles_issued)
            tip = f"{p.partner} {month}: {line.miles_issued:,} miles issued"
            parts.append(
                f'<rect class="bar" x="{left + p_index * bar_w:.1f}" y="{top:.1f}" width="{bar_w:.1f}" '
                f'height="{base - top:.1f}" fill="{colour(p_index)}" data-partner="{escape(p.partner)}" '
                f'data-month="{escape(month)}" data-miles="{line.miles_issued}"><title>{escape(tip)}</title></rect>'
            )
        parts.append(
            f'<text class="month" x="{LEFT + m_index * slot + slot / 2:.1f}" y="{base + 16}" '
            f'text-anchor="middle" font-size="10" fill="currentColor">{escape(month)}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
        'font-size="11" fill="currentColor">month</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
