"""miles nightly benchmark: DESIGN.md's nightly target, measured in one run on the same data.

    .venv/bin/python bench/nightly.py [--quick] [--members N] [--programme FILE | --all-programmes]

Makes a throwaway database running the programme (`miles programme load`; default: the reference) with
1,000,000 members, about 10,000,000 status credits and as many earn lots over three years
(bench/nightly_programme.py, server-side), times one hand-written set-based SQL statement computing every
member's new tier on the requalification night (bench/nightly_reference.py, written from the programme's
rules), then the real nightly run of that night through `miles worker` (2 processes) on a private Redis,
prints both and their ratio (target <= 2), then an expiry night a month later for information, and the
peak memory of the worker processes. With --all-programmes: the reference, then every example, each on its
own database. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import dbtools
import nightly_data
import nightly_programme
import nightly_reference
import programmes
import service
from nightly_worker import CLOCK_AT, Redis, peak_rss_mb, run_night, start_worker, warm_up
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# the reference programme's nights (bench/scale.py runs them); a programme's own: nightly_programme.Profile
REQUALIFICATION_NIGHT, EXPIRY_NIGHT = dt.date(2028, 3, 1), dt.date(2028, 4, 1)
__all__ = ["CLOCK_AT", "EXPIRY_NIGHT", "REQUALIFICATION_NIGHT", "Redis", "peak_rss_mb", "run_night",
           "start_worker", "warm_up"]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="100,000 members: a smoke test, not a measurement")
    p.add_argument("--members", type=int, help="members to generate (1,000,000; quick 100,000)")
    p.add_argument("--chunk-size", type=int, default=50_000, help="MILES_NIGHTLY_CHUNK_SIZE (50,000)")
    p.add_argument("--concurrency", type=int, default=2, help="`miles worker --concurrency` (2)")
    p.add_argument(
        "--reference-runs", type=int, default=3, help="runs of the reference statement (3, median)"
    )
    p.add_argument("--skip-expiry-night", action="store_true", help="only the requalification night")
    p.add_argument(
        "--first-night",
        action="store_true",
        help="no untimed night before the timed ones: the timed night is the members' first (every member's "
        "segment is new, a one-off of the first night after an upgrade)",
    )
    p.add_argument("--keep-db", action="store_true", help="leave the bench database for inspection")
    programmes.add_arguments(p)
    p.add_argument("--output", type=Path, default=RESULTS / "nightly.json")
    args = p.parse_args(argv)
    if args.all_programmes and args.keep_db:
        p.error("--all-programmes makes a database per programme: not with --keep-db")
    if args.members is None:
        args.members = 100_000 if args.quick else 1_000_000
    return args


def _rows(results: dict[str, Any], concurrency: int) -> list[tuple[str, str]]:
    """One programme's (measure, value) rows; its ratios are added to its results."""
    if "nights" not in results:
        return [("failed", (results.get("failure") or "?").strip().splitlines()[-1][:100])]
    ref, night = results["reference"], results["nights"][0]
    ratio = night["seconds"] / ref["select_median_seconds"]
    results["ratio"] = round(ratio, 2)
    results["ratio_vs_update"] = round(night["seconds"] / ref["update_seconds"], 2)
    results["target_met"] = ratio <= 2.0
    counts, r = results["counts"], night["report"]
    rows = [
        ("members", f"{counts['members']:,}"),
        ("status credits / earn lots", f"{counts['status_credits']:,} / {counts['lots']:,}"),
        (
            "generator (+ VACUUM ANALYZE)",
            f"{results['generator_seconds']:.1f} s (+ {results['vacuum_seconds']:.1f} s)",
        ),
        ("reference: one SELECT, every member's new tier (median)", f"{ref['select_median_seconds']:.3f} s"),
        ("reference: the same as one UPDATE (rolled back)", f"{ref['update_seconds']:.3f} s"),
        (f"nightly run {night['night']}, {concurrency} worker processes", f"{night['seconds']:.3f} s"),
        ("  of which planning (one statement)", f"{night['plan_ms'] / 1000:.3f} s"),
        (
            "  chunks' requalification / segments, summed",
            f"{night['chunk_ms_summed']['requalification'] / 1000:.3f} s / "
            f"{night['chunk_ms_summed']['segments'] / 1000:.3f} s ({night['segment_transitions']:,} changes)",
        ),
        ("ratio nightly / SELECT (target <= 2)", f"{ratio:.2f} {'met' if ratio <= 2 else 'NOT met'}"),
        ("ratio nightly / UPDATE", f"{results['ratio_vs_update']:.2f}"),
        (
            "  requalified / up / down / lifetime",
            f"{r['requalified']:,} / {r['up']:,} / {r['down']:,} / {r['lifetime_grants']:,}",
        ),
    ]
    for extra in results["nights"][1:]:
        e = extra["report"]
        rows += [
            (f"night {extra['night']} (expiry, warnings)", f"{extra['seconds']:.3f} s"),
            (
                "  miles / lots / members expired",
                f"{e['miles_expired']:,} / {e['lots_expired']:,} / {e['members_expired']:,}",
            ),
            ("  warnings queued", f"{e['warnings']:,}"),
        ]
    rss = results["worker_peak_rss_mb"]
    pools = [v for k, v in rss.items() if k.startswith("pool")]
    rows.append(
        (
            "peak RSS of a worker process (pool / main)",
            f"{max(pools, default=0):.0f} MB / {rss.get('main', 0):.0f} MB",
        )
    )
    return rows


def print_table(results: dict[str, Any], console: Console) -> None:
    quick = " (--quick: a smoke test, not a measurement)" if results["parameters"]["quick"] else ""
    table = Table(title=f"nightly benchmark{quick}")
    table.add_column("programme")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for n, part in enumerate(results["programmes"]):
        if n:
            table.add_section()
        for measure, value in _rows(part, results["parameters"]["concurrency"]):
            table.add_row(part.get("programme", "?"), measure, value)
    console.print(table)


def run(
    args: argparse.Namespace, console: Console, results: dict[str, Any], choice: programmes.Choice
) -> None:
    """One programme: its database, data, reference statement and nights."""
    admin_url = os.environ.get("MILES_BENCH_DATABASE_URL", dbtools.DEFAULT_ADMIN_URL)
    name = f"miles_nightly_bench_{os.getpid()}"
    profile = nightly_programme.profile(choice.book.in_force(dt.date(2028, 1, 1)), choice.reference)
    results["programme"] = choice.label
    results["nights_planned"] = [profile.night.isoformat(), profile.expiry_night.isoformat()]
    url = dbtools.create_database(admin_url, name)
    redis = worker = None
    try:
        console.log(f"[{choice.label}] database {name}: miles db upgrade; miles programme load")
        service.migrate(url)
        console.log(service.load_programme(url, choice.path))
        console.log(f"generating {args.members:,} members (server-side)")
        started = time.perf_counter()
        plan = nightly_programme.plan(profile)
        results["generator_steps"] = nightly_data.generate(url, args.members, console.log, plan)
        results["generator_seconds"] = round(time.perf_counter() - started, 1)
        results["vacuum_seconds"] = nightly_data.vacuum(url)
        results["counts"] = nightly_data.counts(url)
        console.log(f"generated in {results['generator_seconds']} s: {results['counts']}")
        results["reference"] = nightly_reference.reference(url, args.reference_runs, profile)
        console.log(f"reference: {results['reference']}")
        redis = Redis()
        RESULTS.mkdir(parents=True, exist_ok=True)
        log = RESULTS / f"nightly-worker-{choice.label}.log"
        worker = start_worker(url, redis.url, args, log, profile.clock_at)
        warm_up(redis)
        nights = [profile.night] + ([] if args.skip_expiry_night else [profile.expiry_night])
        if not args.first_night:  # the night before, untimed: the members' segments as a live system has them
            before = profile.night - dt.timedelta(days=1)
            results["night_before"] = run_night(url, redis.url, before, console)
            console.log(f"night {before} (untimed, the night before): {results['night_before']}")
        results["nights"] = []
        for night in nights:
            results["nights"].append(run_night(url, redis.url, night, console))
            console.log(f"night {night}: {results['nights'][-1]}")
        results["worker_peak_rss_mb"] = peak_rss_mb(worker.pid)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(60)
        if redis is not None:
            redis.stop()
        if args.keep_db:
            console.log(f"kept database {name}")
        else:
            dbtools.drop_database(admin_url, name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 150)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": os.getloadavg(),
        },
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "programmes": [],
    }
    failed = False
    for choice in programmes.chosen(args):
        part: dict[str, Any] = {}
        results["programmes"].append(part)
        try:
            run(args, console, part, choice)
        except Exception as exc:  # noqa: BLE001 (recorded with its traceback; the next programme runs)
            failed = True
            part["failure"] = "".join(traceback.format_exception(exc))
            console.print(f"[red]{choice.label} failed:[/red] {exc}", highlight=False)
    results["machine"]["load_after"] = os.getloadavg()
    print_table(results, console)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"results written to {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
