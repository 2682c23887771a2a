"""A month's CSV files for the finance tools airlines already use: every closed month's figures, the month's
cohorts (breakage, miles expected to be redeemed, revenue) and its liability by earn month and source. Each
file is written beside its place and moved there whole: a reader never sees half a file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from miles.domain.finance.months import month_label
from miles.services.finance.close import closed_periods, period_for
from miles.services.finance.views import cohorts_csv, liability_csv, months_csv, period_view
from miles.services.runtime import Runtime


def _write(path: Path, content: str) -> Path:
    partial = path.with_name(path.name + ".part")
    partial.write_text(content, encoding="utf-8")
    partial.replace(path)
    return path


def write_month(runtime: Runtime, month: date, folder: Path) -> list[Path]:
    """The month's files (as closed, or as it stands: a month not closed says so in its name)."""
    read = period_for(runtime, month)
    folder.mkdir(parents=True, exist_ok=True)
    label = month_label(month) + ("" if read.closed else "-not-closed")
    return [
        _write(folder / "finance-months.csv", months_csv(closed_periods(runtime))),
        _write(folder / f"finance-{label}-cohorts.csv", cohorts_csv(period_view(read.measured, read.closed))),
        _write(folder / f"finance-{label}-liability.csv", liability_csv(read.measured)),
    ]
