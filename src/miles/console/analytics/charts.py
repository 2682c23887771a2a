"""The retention pages' charts: grouped bars (miles.console.finance.bars) for segment sizes, losses by cause,
returns by promotion and promotions' cost; a heat map (enrolment month x months since: share retained) as an
inline SVG grid (the figures are in the table beside it), each cell with its exact share in a <title> and data attributes the browser tests read."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

from miles.console.finance.bars import Chart, Series, grouped_bars
from miles.domain.retention import Cause
from miles.domain.segments import Segment
from miles.services.retention import CohortRetention, LostMonth, PromotionReturn, SegmentPoint, WonBackMonth

MOST_PROMOTIONS = 6  # returns by promotion: the most frequent, the rest together


def segments_chart(points: Sequence[SegmentPoint]) -> Markup:
    return grouped_bars(
        Chart(
            testid="segments-chart",
            title="Members by segment at each month's last night",
            labels=[p.date[:7] for p in points],
            series=[Series(s.value, [p.counts[s] for p in points]) for s in Segment],
            y_label="members",
            series_attr="segment",
            label_attr="month",
            value_attr="members",
            empty="No nightly run has segmented members in these months.",
        )
    )


def lost_chart(months: Sequence[LostMonth]) -> Markup:
    return grouped_bars(
        Chart(
            testid="lost-chart",
            title="Members lost per month, by what preceded it",
            labels=[m.month for m in months],
            series=[Series(c.value, [m.causes[c.value] for m in months]) for c in Cause],
            y_label="members lost",
            series_attr="cause",
            label_attr="month",
            value_attr="members",
            empty="No member was lost in these months.",
        )
    )


def won_back_chart(months: Sequence[WonBackMonth]) -> Markup:
    totals: dict[str, int] = {}
    for m in months:
        for code, members in m.promotions.items():
            totals[code] = totals.get(code, 0) + members
    codes = sorted(totals, key=lambda code: (-totals[code], code))[:MOST_PROMOTIONS]
    return grouped_bars(
        Chart(
            testid="won-back-chart",
            title="Members won back per month, by the promotion their return flight earned",
            labels=[m.month for m in months],
            series=[Series(code, [m.promotions.get(code, 0) for m in months]) for code in codes],
            y_label="members won back",
            series_attr="promotion",
            label_attr="month",
            value_attr="members",
            empty="No member came back in these months.",
        )
    )


def promotions_chart(rows: Sequence[PromotionReturn], currency: str) -> Markup:
    return grouped_bars(
        Chart(
            testid="promotions-chart",
            title=f"Cost per member reactivated ({currency})",
            labels=[r.code for r in rows if r.cost_per_reactivated is not None],
            series=[
                Series(
                    "cost per member",
                    [Decimal(r.cost_per_reactivated) for r in rows if r.cost_per_reactivated],
                )
            ],
            y_label=currency,
            x_label="promotion",
            series_attr="series",
            label_attr="promotion",
            value_attr="amount",
            empty="No promotion brought a member back in these months.",
            show=lambda v: f"{Decimal(v):,.2f}",
        )
    )


CELL_W, CELL_H, LEFT, TOP = 44, 24, 72, 40


def _fill(value: Decimal) -> str:
    """From pale (0) to dark blue (1): the share as the lightness."""
    lightness = 95 - int(value * 60)
    return f"hsl(212, 70%, {lightness}%)"


def heat_map(cohorts: Sequence[CohortRetention]) -> Markup:
    columns = max((len(c.retained) for c in cohorts), default=0)
    width = LEFT + CELL_W * max(columns, 1) + 16
    height = TOP + CELL_H * max(len(cohorts), 1) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="heat-title heat-desc" data-testid="cohort-heat-map">',
        '<title id="heat-title">Cohort retention: share of each enrolment month retained, month by month</title>',
        f'<desc id="heat-desc">{len(cohorts)} enrolment months over {columns} months since enrolment</desc>',
    ]
    for k in range(columns):
        parts.append(
            f'<text x="{LEFT + k * CELL_W + CELL_W / 2:.1f}" y="{TOP - 8}" text-anchor="middle" font-size="10" '
            f'fill="currentColor">{k}</text>'
        )
    parts.append(
        f'<text x="{LEFT}" y="14" font-size="11" fill="currentColor">months since enrolment →</text>'
    )
    for row, cohort in enumerate(cohorts):
        y = TOP + row * CELL_H
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + CELL_H / 2 + 4:.1f}" text-anchor="end" font-size="10" '
            f'fill="currentColor">{escape(cohort.enrolment_month)}</text>'
        )
        for k, value in enumerate(cohort.retained):
            if value is None:
                continue
            share = Decimal(value)
            percent = f"{share * 100:.1f} %"
            tip = f"{cohort.enrolment_month}, month {k}: {percent} of {cohort.members:,} retained"
            parts.append(
                f'<g class="cell" data-cohort="{escape(cohort.enrolment_month)}" data-month="{k}" '
                f'data-share="{escape(value)}"><title>{escape(tip)}</title>'
                f'<rect x="{LEFT + k * CELL_W}" y="{y}" width="{CELL_W - 2}" height="{CELL_H - 2}" '
                f'fill="{_fill(share)}"/></g>'
            )
    if not cohorts:
        parts.append(
            f'<text x="{LEFT}" y="{TOP + 16}" font-size="13" fill="currentColor">No member enrolled in these '
            "months.</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
