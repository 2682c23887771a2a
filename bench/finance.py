"""The month-end close on the nightly benchmark's data (issue: finance and retention): `miles finance close`
timed for the first month closed (two snapshots of the lots and the ledger: the month's start and end) and the
next one (one snapshot, the start read from the close before), at each size asked (100,000 and 1,000,000
members by default), against the database's own speed in the same run: one hand-written statement reading
what a snapshot must read (every lot with its opening transfer, every member's entries) and summing it.

    .venv/bin/python bench/finance.py                      # 100,000 then 1,000,000 members
    .venv/bin/python bench/finance.py --members 100000     # one size

The data is nightly_data.py's (members, accounts, flight transfers posted on their earned dates, two entries
each, a lot each; about ten per member over 2025-03 to 2028-02); the clock is pinned (MILES_CLOCK_AT) to
2028-03-02, so January and February 2028 are over. Writes bench/results/finance.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dbtools
import nightly_data
import psycopg
import service
from partners_month import timed_miles
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"
CLOCK_AT = "2028-03-02T06:00:00+00:00"
MONTHS = ("2028-01", "2028-02")
# what one snapshot reads at the least: each lot with its opening transfer, each member's entries
REFERENCE = """
SELECT (SELECT sum(l.amount) FROM lots l JOIN transfers t ON t.id = l.transfer_id
        WHERE coalesce(t.posted_at, t.created_at) < %(at)s),
       (SELECT sum(b) FROM (SELECT sum(e.amount) AS b FROM entries e JOIN accounts a ON a.id = e.account_id
                            JOIN transfers t ON t.id = e.transfer_id
                            WHERE a.member_id IS NOT NULL AND coalesce(t.posted_at, t.created_at) < %(at)s
                            GROUP BY a.member_id) x)
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--members", type=int, action="append", help="a size to run (repeat it); 100,000 and 1,000,000"
    )
    p.add_argument(
        "--admin-url", default=os.environ.get("MILES_BENCH_DATABASE_URL", dbtools.DEFAULT_ADMIN_URL)
    )
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--output", type=Path, default=RESULTS / "finance.json")
    return p.parse_args(argv)


def reference_seconds(url: str) -> float:
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        conn.execute(REFERENCE, {"at": "2028-03-01T00:00:00+00:00"}).fetchone()
        return time.perf_counter() - started


def one_size(admin_url: str, members: int, console: Console, keep: bool) -> dict[str, Any]:
    name = f"miles_finance_bench_{os.getpid()}_{members}"
    url = dbtools.create_database(admin_url, name)
    try:
        service.migrate(url)
        console.print(f"[bold]{members:,} members[/bold]: generating")
        generated = nightly_data.generate(url, members, lambda line: console.print(line))
        vacuum = nightly_data.vacuum(url)
        rows = nightly_data.counts(url, ("members", "lots", "entries"))
        os.environ["MILES_CLOCK_AT"] = CLOCK_AT
        closes = {}
        with tempfile.TemporaryDirectory() as out:
            for month in MONTHS:
                run = timed_miles(
                    ["finance", "close", "--month", month, "--out", out], url, RESULTS / "finance-close.log"
                )
                closes[month] = {"seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"]}
                console.print(f"  close {month}: {run['seconds']:.1f} s, peak {run['peak_rss_mb']:.0f} MB")
        reference = min(reference_seconds(url) for _ in range(2))
        console.print(f"  reference statement: {reference:.1f} s")
        return {
            "members": members,
            "rows": rows,
            "generate_seconds": generated,
            "vacuum_seconds": vacuum,
            "closes": closes,
            "reference_seconds": round(reference, 3),
        }
    finally:
        os.environ.pop("MILES_CLOCK_AT", None)
        if not keep:
            dbtools.drop_database(admin_url, name)


def print_table(results: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="month-end close (miles finance close)")
    for column in (
        "members",
        "lots",
        "first close (2 snapshots)",
        "next close (1)",
        "reference",
        "next / reference",
    ):
        table.add_column(column, justify="right")
    for r in results:
        first, second = (r["closes"][m]["seconds"] for m in MONTHS)
        table.add_row(
            f"{r['members']:,}",
            f"{r['rows']['lots']:,}",
            f"{first:.1f} s",
            f"{second:.1f} s",
            f"{r['reference_seconds']:.1f} s",
            f"{second / r['reference_seconds']:.2f}x",
        )
    console.print(table)
    if len(results) > 1:
        small, large = results[0], results[-1]
        growth = large["closes"][MONTHS[1]]["seconds"] / small["closes"][MONTHS[1]]["seconds"]
        size = large["members"] / small["members"]
        console.print(f"growth: {size:.0f}x the members, {growth:.1f}x the time of a close")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    RESULTS.mkdir(exist_ok=True)
    results = [
        one_size(args.admin_url, n, console, args.keep_db) for n in (args.members or [100_000, 1_000_000])
    ]
    args.output.write_text(json.dumps(results, indent=2, default=str))
    print_table(results, console)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
