"""miles benchmark runner: the DESIGN.md accrual targets, as ratios against PostgreSQL in the same run.

    .venv/bin/python bench/run.py [--quick]

Makes a throwaway database, measures pgbench and a raw COPY as the references, runs the real
`miles serve` against it, drives single and batch accruals over HTTP, prints the targets table and
writes bench/results/latest.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import dbtools
import loadgen
import report
import service
from coupons import CouponFactory
from rich.console import Console

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short smoke test: fewer members, seconds, items")
    p.add_argument("--concurrency", type=int, default=16, help="HTTP clients and pgbench clients (16)")
    p.add_argument("--client-processes", type=int, default=2, help="load-generator processes (2)")
    p.add_argument("--workers", type=int, default=2, help="`miles serve --workers` (2)")
    p.add_argument("--duration", type=float, help="seconds of single accruals (20; quick 5)")
    p.add_argument("--warmup", type=float, help="untimed seconds before it (3; quick 1)")
    p.add_argument("--members", type=int, help="members to create (2000; quick 200)")
    p.add_argument("--batch-size", type=int, help="items per batch (10000; quick 2000)")
    p.add_argument("--batches", type=int, help="batches to post (5; quick 2)")
    p.add_argument("--pgbench-duration", type=int, help="seconds of pgbench (20; quick 5)")
    p.add_argument("--pgbench-scale", type=int, default=10, help="pgbench -i -s (10)")
    p.add_argument("--skip-pgbench", action="store_true", help="no pgbench reference (no single ratio)")
    p.add_argument("--keep-db", action="store_true", help="leave the bench database for inspection")
    p.add_argument(
        "--database-url",
        help="use this existing database (migrated if needed, neither created nor dropped) instead of a fresh one",
    )
    p.add_argument(
        "--sample-members",
        action="store_true",
        help="with --database-url: accrue to --members members drawn at random from the database "
        "instead of creating them over HTTP",
    )
    p.add_argument("--strict", action="store_true", help="exit 2 when a target is not met")
    p.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = p.parse_args(argv)
    quick = args.quick
    defaults = {
        "duration": 5.0 if quick else 20.0,
        "warmup": 1.0 if quick else 3.0,
        "members": 200 if quick else 2000,
        "batch_size": 2000 if quick else 10_000,
        "batches": 2 if quick else 5,
        "pgbench_duration": 5 if quick else 20,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def run(args: argparse.Namespace, console: Console, results: dict[str, Any]) -> None:
    admin_url = os.environ.get("MILES_BENCH_DATABASE_URL", dbtools.DEFAULT_ADMIN_URL)
    pid = os.getpid()
    bench_db, pgbench_db = f"miles_bench_{pid}", f"miles_pgbench_{pid}"
    results["postgres"] = dbtools.server_info(admin_url)
    server: service.MilesServer | None = None
    bench_url: str | None = None
    owned = args.database_url is None
    try:
        if owned:
            console.log(f"creating database {bench_db}")
            bench_url = dbtools.create_database(admin_url, bench_db)
        else:
            bench_url = args.database_url
            console.log("on the database given by --database-url (neither created nor dropped)")

        if not args.skip_pgbench:
            console.log(
                f"pgbench: -i -s {args.pgbench_scale}, then -c {args.concurrency} -T {args.pgbench_duration}"
            )
            pgbench_url = dbtools.create_database(admin_url, pgbench_db)
            try:
                results["pgbench"] = dbtools.run_pgbench(
                    pgbench_url, args.concurrency, args.pgbench_duration, args.pgbench_scale
                )
            finally:
                dbtools.drop_database(admin_url, pgbench_db)
            console.log(f"pgbench: {results['pgbench']['tps']:,.0f} tps")

        console.log("miles db upgrade; miles apikey create")
        service.migrate(bench_url)
        key = service.create_api_key(bench_url)
        server = service.MilesServer(bench_url, args.workers, RESULTS / "server.log")
        server.start()
        ready = server.wait_healthy()
        console.log(
            f"miles serve --workers {args.workers} on {server.base_url} (healthy after {ready:.1f} s)"
        )
        host, port = server.host, server.port

        if args.sample_members and not owned:
            members, results["members"] = dbtools.sample_members(bench_url, args.members)
        else:
            members, results["members"] = loadgen.create_members(
                host, port, key, args.members, args.concurrency, tag=str(pid)
            )
        console.log(f"{len(members)} members in {results['members']['seconds']} s")
        if not members:
            raise RuntimeError("no member could be created; see the errors below")

        console.log(
            f"single accruals: {args.concurrency} clients in {args.client_processes} processes, "
            f"{args.warmup:g} s warm-up + {args.duration:g} s"
        )
        results["single"] = loadgen.single_accruals(
            host, port, key, members, args.concurrency, args.client_processes, args.duration, args.warmup
        )
        single = results["single"]
        console.log(
            f"single: {single['per_s']:,.0f}/s, p50 {single['p50_ms']:.1f} ms, p99 {single['p99_ms']:.1f} ms, "
            f"{single['errors']['count']} errors"
        )

        factory = CouponFactory(members, phase=2, seed=pid)
        batches = [factory.batch(args.batch_size) for _ in range(args.batches)]
        console.log(f"batch: {args.batches} x {args.batch_size:,} items")
        results["batch"] = loadgen.post_batches(host, port, key, batches)
        batch = results["batch"]
        console.log(
            f"batch: {batch['per_s']:,.0f} coupons/s over {batch['seconds']} s, {batch['errors']['count']} errors"
        )
        server.stop()

        console.log("raw COPY of the same coupon rows")
        results["copy"] = dbtools.copy_reference(bench_url, batches)
        console.log(f"COPY: {results['copy']['rows_per_s']:,.0f} rows/s")
    finally:
        if server is not None:
            server.stop()
        if bench_url is not None and owned and not args.keep_db:
            dbtools.drop_database(admin_url, bench_db)
            console.log(f"dropped database {bench_db}")
        elif bench_url is not None and owned:
            console.log(f"kept database {bench_db}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Wide enough for the table when the output goes to a file or a pipe (rich would use 80 columns).
    console = Console(width=None if sys.stdout.isatty() else 150)
    # A SIGTERM unwinds like Ctrl-C, so the server is stopped and the databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "git_commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    started = time.perf_counter()
    failed = False
    try:
        run(args, console, results)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 (recorded with its traceback in the results)
        failed = True
        results["failure"] = "".join(traceback.format_exception(exc))
        console.print(f"[red]benchmark failed:[/red] {exc}", highlight=False)
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = report.targets(results)
    report.print_table(results, console)
    report.print_details(results, console)
    report.print_errors(results, console)
    if (RESULTS / "server.log").exists():
        console.print(f"server output (tracebacks, if any): {RESULTS / 'server.log'}")
    report.write_json(results, args.output)
    console.print(f"results written to {args.output}")
    errors = sum(results[p]["errors"]["count"] for p in ("members", "single", "batch") if p in results)
    if failed or errors:
        return 1
    if args.strict and not all(row["met"] for row in results["targets"]):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
