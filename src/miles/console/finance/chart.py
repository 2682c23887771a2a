"""Miles issued per partner per month: a grouped bar chart (miles.console.finance.bars), one bar per partner
in each month, `data-partner`, `data-month` and `data-miles` on each bar."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from miles.console.finance.bars import Chart, Series, grouped_bars
from miles.services.partners.settlement import PartnerMonths


def issued_chart(
    months: Sequence[str],
    partners: Sequence[PartnerMonths],
    title: str = "Miles issued per partner per month",
) -> Markup:
    """An SVG of `partners`' miles issued in each of `months` (oldest first), a bar per partner (in the
    partners' order) in each month's group."""
    return grouped_bars(
        Chart(
            testid="issued-chart",
            title=title,
            labels=months,
            series=[Series(p.partner, [line.miles_issued for line in p.months]) for p in partners],
            y_label="miles issued",
            series_attr="partner",
            label_attr="month",
            value_attr="miles",
            empty="No miles issued by partners in these months.",
        )
    )
