"""Finance's charts (grouped bars, miles.console.finance.bars): the liability at each closed month's end by
source, revenue recognised per month, and a month's breakage rate by earn-month cohort."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from markupsafe import Markup

from miles.adapters.db.finance.periods import PeriodRecord
from miles.console.finance.bars import Chart, Number, Series, grouped_bars
from miles.domain.finance.liability import Source
from miles.domain.finance.months import month_label
from miles.services.finance.views import PeriodView


def liability_chart(outstanding: Mapping[str, Mapping[Source, int]]) -> Markup:
    months = sorted(outstanding)
    sources = [s for s in Source if any(outstanding[m][s] for m in months)]
    return grouped_bars(
        Chart(
            testid="liability-chart",
            title="Miles outstanding at each month's end, by source",
            labels=months,
            series=[Series(s.value, [outstanding[m][s] for m in months]) for s in sources],
            y_label="miles outstanding",
            series_attr="source",
            label_attr="month",
            value_attr="miles",
            empty="No month is closed yet." if not months else "No miles outstanding at these months' ends.",
        )
    )


def _money(value: Number) -> str:
    return f"{Decimal(value):,.2f}"


def revenue_chart(periods: Sequence[PeriodRecord], currency: str) -> Markup:
    return grouped_bars(
        Chart(
            testid="revenue-chart",
            title=f"Revenue recognised per month ({currency})",
            labels=[month_label(p.month) for p in periods],
            series=[Series("recognised", [p.revenue_recognised for p in periods])],
            y_label=f"revenue ({currency})",
            series_attr="series",
            label_attr="month",
            value_attr="amount",
            empty="No month is closed yet."
            if not periods
            else "No revenue recognised yet: nothing redeemed.",
            show=_money,
        )
    )


def _percent(value: Number) -> str:
    return f"{Decimal(value):.2f} %"


def breakage_chart(view: PeriodView) -> Markup:
    return grouped_bars(
        Chart(
            testid="breakage-chart",
            title=f"Breakage rate by earn-month cohort at the end of {view.month}",
            labels=[c.earn_month for c in view.cohorts],
            series=[Series("breakage %", [Decimal(c.breakage_rate) * 100 for c in view.cohorts])],
            y_label="breakage (%)",
            x_label="earn month",
            series_attr="series",
            label_attr="cohort",
            value_attr="percent",
            empty="No breakage estimated: every cohort's rate is 0 %.",
            show=_percent,
        )
    )
