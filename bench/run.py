"""miles benchmark runner: the DESIGN.md accrual targets, as ratios against PostgreSQL in the same run.

    .venv/bin/python bench/run.py [--quick] [--programme FILE | --all-programmes]

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dbtools
import loadgen
import programmes
import report
import service
from coupons import CouponFactory, mix_for
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
    programmes.add_arguments(p)
    p.add_argument("--strict", action="store_true", help="exit 2 when a target is not met")
    p.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = p.parse_args(argv)
    if args.all_programmes and (args.keep_db or args.database_url):
        p.error("--all-programmes makes a database per programme: not with --keep-db or --database-url")
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


def measure_pgbench(args: argparse.Namespace, console: Console, admin_url: str) -> dict[str, Any]:
    """pgbench in a throwaway database of its own, before any API runs (nothing competes with it)."""
    pgbench_db = f"miles_pgbench_{os.getpid()}"
    console.log(f"pgbench: -i -s {args.pgbench_scale}, then -c {args.concurrency} -T {args.pgbench_duration}")
    pgbench_url = dbtools.create_database(admin_url, pgbench_db)
    try:
        result = dbtools.run_pgbench(pgbench_url, args.concurrency, args.pgbench_duration, args.pgbench_scale)
    finally:
        dbtools.drop_database(admin_url, pgbench_db)
    console.log(f"pgbench: {result['tps']:,.0f} tps")
    return result


def run(
    args: argparse.Namespace,
    console: Console,
    results: dict[str, Any],
    choice: programmes.Choice | None = None,
    server_log: Path = RESULTS / "server.log",
    before_load: Callable[[str, str, list[str]], dict[str, Any]] | None = None,
    after_load: Callable[[str], dict[str, Any]] | None = None,
) -> None:
    """One programme's run (default: --programme, else the reference); pgbench first unless `results`
    has it already (measured once for --all-programmes) or --skip-pgbench."""
    if choice is None:
        choice = programmes.chosen(args)[0]
    results["programme"] = choice.label
    admin_url = os.environ.get("MILES_BENCH_DATABASE_URL", dbtools.DEFAULT_ADMIN_URL)
    pid = os.getpid()
    bench_db = f"miles_bench_{pid}"
    results.setdefault("postgres", dbtools.server_info(admin_url))
    server: service.MilesServer | None = None
    bench_url: str | None = None
    owned = args.database_url is None
    # the reference programme's coupons stay today's (partner YY, no fare); others', the programme's
    mix = None if choice.reference else mix_for(choice.book.in_force(dt.date.today()))
    try:
        if owned:
            console.log(f"[{choice.label}] creating database {bench_db}")
            bench_url = dbtools.create_database(admin_url, bench_db)
        else:
            bench_url = args.database_url
            console.log("on the database given by --database-url (neither created nor dropped)")

        if not args.skip_pgbench and "pgbench" not in results:
            results["pgbench"] = measure_pgbench(args, console, admin_url)

        console.log("miles db upgrade; miles programme load; miles apikey create")
        service.migrate(bench_url)
        if owned:
            results["programme_loaded"] = service.load_programme(bench_url, choice.path)
            console.log(results["programme_loaded"])
        key = service.create_api_key(bench_url)
        server = service.MilesServer(bench_url, args.workers, server_log)
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
        if before_load is not None:  # e.g. bench/promotions.py: campaigns and tiers before the load
            results["prepared"] = before_load(server.base_url, bench_url, members)
            console.log(f"prepared: {results['prepared']}")

        console.log(
            f"single accruals: {args.concurrency} clients in {args.client_processes} processes, "
            f"{args.warmup:g} s warm-up + {args.duration:g} s"
        )
        results["single"] = loadgen.single_accruals(
            host, port, key, members, args.concurrency, args.client_processes, args.duration, args.warmup,
            mix=mix,
        )  # fmt: skip
        single = results["single"]
        console.log(
            f"single: {single['per_s']:,.0f}/s, p50 {single['p50_ms']:.1f} ms, p99 {single['p99_ms']:.1f} ms, "
            f"{single['errors']['count']} errors"
        )

        factory = CouponFactory(members, phase=2, seed=pid, mix=mix)
        batches = [factory.batch(args.batch_size) for _ in range(args.batches)]
        console.log(f"batch: {args.batches} x {args.batch_size:,} items")
        results["batch"] = loadgen.post_batches(host, port, key, batches)
        batch = results["batch"]
        console.log(
            f"batch: {batch['per_s']:,.0f} coupons/s over {batch['seconds']} s, {batch['errors']['count']} errors"
        )
        if after_load is not None:  # e.g. bench/promotions.py: what the load wrote
            results["after_load"] = after_load(bench_url)
            console.log(f"after the load: {results['after_load']}")
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


def run_all(args: argparse.Namespace, console: Console, results: dict[str, Any]) -> bool:
    """Every chosen programme in turn, each on its own fresh database, pgbench measured once and shared.
    One programme's failure is recorded and the next one runs; False when any failed."""
    choices = programmes.chosen(args)
    admin_url = os.environ.get("MILES_BENCH_DATABASE_URL", dbtools.DEFAULT_ADMIN_URL)
    results["postgres"] = dbtools.server_info(admin_url)
    if len(choices) == 1:
        run(args, console, results, choices[0])
        results["targets"] = report.targets(results)
        return True
    if not args.skip_pgbench:
        results["pgbench"] = measure_pgbench(args, console, admin_url)
    results["programmes"] = []
    ok = True
    for choice in choices:
        part: dict[str, Any] = {k: results[k] for k in ("postgres", "pgbench") if k in results}
        try:
            run(args, console, part, choice, RESULTS / f"server-{choice.label}.log")
        except (Exception, KeyboardInterrupt) as exc:
            ok = False
            part["failure"] = "".join(traceback.format_exception(exc))
            console.print(f"[red]{choice.label} failed:[/red] {exc}", highlight=False)
            if isinstance(exc, KeyboardInterrupt):
                raise
        part["targets"] = report.targets(part)
        part.pop("postgres", None)
        part.pop("pgbench", None)
        results["programmes"].append(part)
    results["targets"] = [row for part in results["programmes"] for row in part["targets"]]
    return ok


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
        failed = not run_all(args, console, results)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 (recorded with its traceback in the results)
        failed = True
        results["failure"] = "".join(traceback.format_exception(exc))
        console.print(f"[red]benchmark failed:[/red] {exc}", highlight=False)
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    if "programmes" not in results:
        results["targets"] = report.targets(results)
    report.print_table(results, console)
    report.print_details(results, console)
    report.print_errors(results, console)
    console.print(f"server output (tracebacks, if any): {RESULTS}/server*.log")
    report.write_json(results, args.output)
    console.print(f"results written to {args.output}")
    errors = sum(
        part[p]["errors"]["count"]
        for part in results.get("programmes", [results])
        for p in ("members", "single", "batch")
        if p in part
    )
    if failed or errors:
        return 1
    if args.strict and not all(row["met"] for row in results["targets"]):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
