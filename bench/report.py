"""The results: the targets table (rich) and bench/results/latest.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SINGLE_RATIO_GOAL = 0.5
BATCH_RATE_GOAL = 50_000.0
BATCH_COPY_RATIO_GOAL = 0.3


def _num(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target in DESIGN.md's "Targets" that this runner measures, for the programme run."""
    rows: list[dict[str, Any]] = []
    programme = results.get("programme", "aurora")
    pgbench, single = results.get("pgbench"), results.get("single")
    if single is not None:
        tps = pgbench["tps"] if pgbench else None
        ratio = single["per_s"] / tps if tps else None
        errors = single["errors"]["count"]
        rows.append(
            {
                "programme": programme,
                "target": "single accruals over HTTP",
                "measured": f"{_num(single['per_s'])} accruals/s "
                f"(p50 {_num(single['p50_ms'], 1)} ms, p99 {_num(single['p99_ms'], 1)} ms, "
                f"{errors} errors)",
                "reference": f"pgbench TPC-B {_num(tps)} tps" if tps else "pgbench not run",
                "ratio": ratio,
                "goal": f">= {SINGLE_RATIO_GOAL}x pgbench, 0 errors",
                "met": ratio is not None and ratio >= SINGLE_RATIO_GOAL and errors == 0,
            }
        )
    batch, copy = results.get("batch"), results.get("copy")
    if batch is not None:
        errors = batch["errors"]["count"]
        rows.append(
            {
                "programme": programme,
                "target": "bulk accrual (batch endpoint)",
                "measured": f"{_num(batch['per_s'])} coupons/s ({batch['items']:,} items, {errors} errors)",
                "reference": "-",
                "ratio": None,
                "goal": f">= {BATCH_RATE_GOAL:,.0f} coupons/s",
                "met": batch["per_s"] >= BATCH_RATE_GOAL and errors == 0,
            }
        )
        copy_rate = copy["rows_per_s"] if copy else None
        ratio = batch["per_s"] / copy_rate if copy_rate else None
        rows.append(
            {
                "programme": programme,
                "target": "bulk accrual vs raw COPY",
                "measured": f"{_num(batch['per_s'])} coupons/s",
                "reference": f"COPY {_num(copy_rate)} rows/s" if copy_rate else "COPY not run",
                "ratio": ratio,
                "goal": f">= {BATCH_COPY_RATIO_GOAL}x COPY",
                "met": ratio is not None and ratio >= BATCH_COPY_RATIO_GOAL and errors == 0,
            }
        )
    return rows


def print_table(results: dict[str, Any], console: Console) -> None:
    table = Table(
        title="miles benchmark" + (" (--quick: smoke test, not a measurement)" if results["quick"] else "")
    )
    for name in ("programme", "target", "measured", "reference", "ratio", "goal", "met?"):
        table.add_column(name, justify="right" if name == "ratio" else "left")
    for row in results["targets"]:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        met = "[green]yes[/green]" if row["met"] else "[red]no[/red]"
        table.add_row(
            row["programme"], row["target"], row["measured"], row["reference"], ratio, row["goal"], met
        )
    console.print(table)


def print_details(results: dict[str, Any], console: Console) -> None:
    lines = []
    for part in results.get("programmes", [results]):
        lines += _details(part, results.get("pgbench"), prefix="programmes" in results)
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def _details(results: dict[str, Any], pgbench: dict[str, Any] | None, prefix: bool) -> list[str]:
    lines = []
    if pgbench and not prefix:
        lines.append(
            f"pgbench: {pgbench['command']}, scale {pgbench['scale']}: {pgbench['tps']:,.0f} tps, "
            f"latency avg {_num(pgbench['latency_avg_ms'], 2)} ms"
        )
    if single := results.get("single"):
        lines.append(
            f"single: {single['accruals']:,} accruals in {single['seconds']} s from {single['concurrency']} clients "
            f"({single['client_processes']} processes, {(single['client_cpu_share_of_2_cores'] or 0):.1%} of 2 cores), "
            f"max {_num(single['max_ms'], 1)} ms"
        )
    if batch := results.get("batch"):
        times = ", ".join(f"{s:.2f}" for s in batch["batch_seconds"])
        lines.append(
            f"batch: {batch['batches']} x {batch['items'] // max(1, batch['batches']):,} items, s each: {times}"
        )
    if copy := results.get("copy"):
        lines.append(f"COPY: {copy['rows']:,} rows in {copy['chunks']} chunks, {copy['seconds']} s")
    if prefix:
        lines = [f"{results.get('programme')}: {line}" for line in lines]
    return lines


def print_errors(results: dict[str, Any], console: Console) -> None:
    if pgbench := results.get("pgbench"):
        if "programmes" in results:
            console.print(
                f"pgbench (once, shared): {pgbench['command']}, scale {pgbench['scale']}: "
                f"{pgbench['tps']:,.0f} tps",
                highlight=False,
            )
    for part in results.get("programmes", [results]):
        _errors(part, console)


def _errors(results: dict[str, Any], console: Console) -> None:
    for phase in ("members", "single", "batch"):
        section = results.get(phase)
        if not section or not section["errors"]["count"]:
            continue
        errors = section["errors"]
        console.print(
            f"[red]{results.get('programme')} {phase}: {errors['count']} errors[/red] by kind {errors['by_kind']}"
        )
        for sample in errors["samples"]:
            line = json.dumps(sample, default=str)[:2000]
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
