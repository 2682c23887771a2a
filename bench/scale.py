"""miles at scale: a large programme's data set, its sizes, its nights and its accruals, in one run.

    .venv/bin/python bench/scale.py --members 10000000

Checks PostgreSQL's free disk and refuses to start when the data set would not fit (estimate printed);
generates the members and three years of history server-side (bench/scale_data.py) in a throwaway
database; then measures table and index sizes, the queries of a member read (EXPLAIN ANALYZE), the nights
of 2028-03-01 (requalification) and 2028-04-01 (expiry) through the real `miles worker`s with their phases,
and the single and batch accruals over HTTP (bench/run.py on this database); prints the table, writes
bench/results/scale-<members>.json and drops the database, on failure and Ctrl-C too. Never in CI.
See bench/README.md ("Scale").
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
import nightly
import nightly_data
import psycopg
import report
import run as accruals_run
import scale_data
import scale_measure
import service
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=int, default=10_000_000, help="members to generate (10,000,000)")
    p.add_argument("--chunk-size", type=int, default=50_000, help="MILES_NIGHTLY_CHUNK_SIZE (50,000)")
    p.add_argument("--concurrency", type=int, default=2, help="`miles worker --concurrency` (2)")
    p.add_argument(
        "--warnings-timeout",
        type=float,
        default=300,
        help="seconds to wait for a night's warnings relay (300)",
    )
    p.add_argument("--accrual-seconds", type=float, default=20, help="seconds of single accruals (20)")
    p.add_argument("--batches", type=int, default=5, help="batches of --batch-size coupons (5)")
    p.add_argument("--batch-size", type=int, default=10_000, help="coupons per batch (10,000)")
    p.add_argument("--pgbench-seconds", type=int, default=20, help="seconds of the pgbench reference (20)")
    p.add_argument("--skip-pgbench", action="store_true", help="no pgbench reference for the single ratio")
    p.add_argument("--skip-checks", action="store_true", help="do not verify the ledger's invariants")
    p.add_argument("--skip-nights", action="store_true")
    p.add_argument("--skip-accruals", action="store_true")
    p.add_argument(
        "--estimate-only", action="store_true", help="print the estimate and the disk check, then stop"
    )
    p.add_argument("--keep-db", action="store_true", help="leave the database (and its disk) for inspection")
    p.add_argument("--output", type=Path, help="bench/results/scale-<members>.json")
    args = p.parse_args(argv)
    if args.output is None:
        args.output = RESULTS / f"scale-{args.members}.json"
    return args


def preflight(admin_url: str, members: int, console: Console) -> dict[str, Any]:
    """The estimate against the free disk; raises SystemExit(2) when the run must not start."""
    estimate = scale_data.estimate(members)
    space = scale_data.free_space(admin_url)
    gb = scale_data.gb
    console.print(
        f"estimate for {members:,} members: {estimate['coupons']:,} coupons "
        f"({estimate['mean_flights_per_member']} per member), data set {gb(estimate['dataset_bytes'])} "
        f"({estimate['bytes_per_coupon']:,} B per coupon + {estimate['bytes_per_member']:,} B per member), "
        f"up to {gb(estimate['peak_bytes'])} while generating; free on {space['data_directory']}: "
        f"{gb(space['free_bytes'])}",
        highlight=False,
    )
    why = scale_data.refusal(estimate, space)
    if why is not None:
        console.print(f"[red]not starting:[/red] {why}", highlight=False)
        raise SystemExit(2)
    return {"estimate": estimate, "disk": space}


def run_nights(url: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """Both nights through `miles worker` on a private Redis, as bench/nightly.py runs them."""
    redis = worker = None
    out: dict[str, Any] = {"nights": []}
    try:
        redis = nightly.Redis()
        RESULTS.mkdir(parents=True, exist_ok=True)
        worker = nightly.start_worker(url, redis.url, args, RESULTS / "scale-worker.log")
        nightly.warm_up(redis)
        for night in (nightly.REQUALIFICATION_NIGHT, nightly.EXPIRY_NIGHT):
            result = nightly.run_night(url, redis.url, night, console)
            result["phases"] = scale_measure.night_phases(url, night, args.warnings_timeout)
            console.log(f"night {night}: {result['seconds']} s, phases {result['phases']}")
            out["nights"].append(result)
        out["worker_peak_rss_mb"] = nightly.peak_rss_mb(worker.pid)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(60)
        if redis is not None:
            redis.stop()
    return out


def run_accruals(url: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """bench/run.py on this database, accruing to 2,000 of its members drawn at random."""
    argv = ["--database-url", url, "--sample-members", "--members", "2000"]
    argv += ["--duration", str(args.accrual_seconds), "--pgbench-duration", str(args.pgbench_seconds)]
    argv += ["--batches", str(args.batches), "--batch-size", str(args.batch_size)]
    argv += ["--skip-pgbench"] if args.skip_pgbench else []
    options = accruals_run.parse_args(argv)
    results: dict[str, Any] = {"parameters": argv[2:]}
    accruals_run.run(options, console, results)
    results["targets"] = report.targets(results)
    return results


def generate(url: str, args: argparse.Namespace, console: Console, results: dict[str, Any]) -> None:
    console.log(f"generating {args.members:,} members (server-side, bench/scale_data.py)")
    started = time.perf_counter()
    results["generator_steps"] = nightly_data.generate(url, args.members, console.log, scale_data.PLAN)
    results["generator_seconds"] = round(time.perf_counter() - started, 1)
    results["vacuum_seconds"] = nightly_data.vacuum(url, scale_data.TABLES)
    console.log(
        f"generated in {results['generator_seconds']} s, VACUUM ANALYZE {results['vacuum_seconds']} s"
    )
    if not args.skip_checks:
        results["checks"] = scale_data.check(url)
        console.log(f"checks ({results['checks']['seconds']} s): {results['checks']['violations']}")
        if any(results["checks"]["violations"].values()):
            raise RuntimeError(f"the generated data is inconsistent: {results['checks']['violations']}")


def measure(args: argparse.Namespace, console: Console, results: dict[str, Any]) -> None:
    admin_url = os.environ.get("MILES_BENCH_DATABASE_URL", dbtools.DEFAULT_ADMIN_URL)
    results |= preflight(admin_url, args.members, console)
    if args.estimate_only:
        return
    results["postgres"] = dbtools.server_info(admin_url)
    name = f"miles_scale_bench_{os.getpid()}"
    url = dbtools.create_database(admin_url, name)
    try:
        console.log(f"database {name}: miles db upgrade")
        service.migrate(url)
        generate(url, args, console, results)
        started = time.perf_counter()
        results["sizes"] = scale_measure.sizes(url, scale_data.TABLES)
        results["sizes_seconds"] = round(time.perf_counter() - started, 1)
        console.log(f"sizes: database {scale_data.gb(results['sizes']['database_bytes'])}")
        results["member_reads"] = scale_measure.member_reads(url)
        if not args.skip_nights:
            results |= run_nights(url, args, console)
        if not args.skip_accruals:
            results["accruals"] = run_accruals(url, args, console)
    finally:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            results["database_bytes_at_end"] = int(size[0]) if size else None
            console.print(
                f"database {name}: {scale_data.gb(results['database_bytes_at_end'] or 0)} at the end"
            )
        except psycopg.Error as exc:
            console.print(f"could not read the database's size: {exc}")
        if args.keep_db:
            console.print(f"kept database {name}")
        else:
            dbtools.drop_database(admin_url, name)
            console.print(f"dropped database {name}")


def print_tables(results: dict[str, Any], console: Console) -> None:
    gb = scale_data.gb
    sizes = results.get("sizes")
    if sizes:
        t = Table(title=f"sizes, {sizes['members']:,} members, {sizes['coupons']:,} coupons")
        for column in ("table", "rows", "heap+toast", "indexes", "total", "B/coupon", "B/member"):
            t.add_column(column, justify="left" if column == "table" else "right")
        for name, s in sizes["tables"].items():
            t.add_row(
                name, f"{s['rows']:,}{'' if s['rows_exact'] else ' ~'}", gb(s["table_bytes"]), gb(s["indexes_bytes"]),
                gb(s["total_bytes"]), f"{s.get('bytes_per_coupon', '')}", f"{s.get('bytes_per_member', '')}",
            )  # fmt: skip
        t.add_row(
            "coupon tables", "", "", "", gb(sizes["coupon_tables_bytes"]), f"{sizes['bytes_per_coupon']}", ""
        )
        t.add_row(
            "member tables", "", "", "", gb(sizes["member_tables_bytes"]), "", f"{sizes['bytes_per_member']}"
        )
        t.add_row("database", "", "", "", gb(sizes["database_bytes"]), "", "")
        console.print(t)
    t = Table(title="generation, nights, accruals")
    t.add_column("measure")
    t.add_column("value", justify="right")
    if "estimate" in results:
        t.add_row(
            "estimated data set / peak",
            f"{gb(results['estimate']['dataset_bytes'])} / {gb(results['estimate']['peak_bytes'])}",
        )
    for step, seconds in results.get("generator_steps", {}).items():
        t.add_row(f"generate: {step}", f"{seconds:.1f} s")
    if "generator_seconds" in results:
        t.add_row(
            "generate: total (+ VACUUM ANALYZE)",
            f"{results['generator_seconds']:.1f} s (+ {results['vacuum_seconds']:.1f} s)",
        )
    if "checks" in results:
        bad = sum(results["checks"]["violations"].values())
        t.add_row(
            "ledger checks",
            f"{'all hold' if bad == 0 else f'{bad} VIOLATIONS'} ({results['checks']['seconds']} s)",
        )
    for who, reads in results.get("member_reads", {}).items():
        for query, r in reads.items():
            if isinstance(r, dict):
                f, w = r["first"], r["warm"]
                t.add_row(
                    f"read, {who} ({reads['coupons']} coupons): {query}",
                    f"{f['execution_ms']:.2f} ms ({f['shared_hit']} hit, {f['shared_read']} read); warm {w['execution_ms']:.2f} ms",
                )
    for n in results.get("nights", []):
        p = n["phases"]
        t.add_row(
            f"night {n['night']}", f"{n['seconds']:.2f} s ({p['chunks']} chunks of {p['chunk_size']:,})"
        )
        t.add_row(
            "  planning / start -> first chunk / chunks",
            f"{p['planning_s']:.2f} / {p['start_to_first_chunk_s']:.2f} / {p['chunks_wall_s']:.2f} s",
        )
        t.add_row(
            "  requalification / expiry / warnings (summed)",
            f"{p['requalification_s']:.2f} / {p['expiry_s']:.2f} / {p['warnings_queued_s']:.2f} s",
        )
        t.add_row("  chunk p50 / max", f"{p['chunk_p50_ms']:,.0f} / {p['chunk_max_ms']:,} ms")
        r, relay = n["report"], p["warnings_relay"]
        t.add_row(
            "  requalified / expired lots / warnings",
            f"{r['requalified']:,} / {r['lots_expired']:,} / {r['warnings']:,}",
        )
        t.add_row(
            "  warnings relayed (last after the run)",
            f"{relay['queued'] - relay['unsent']:,} of {relay['queued']:,} ({relay['last_sent_after_run_s']} s)",
        )
    for row in results.get("accruals", {}).get("targets", []):
        ratio = "" if row["ratio"] is None else f"; ratio {row['ratio']:.3f}"
        t.add_row(row["target"], f"{row['measured']}{ratio}")
    if "database_bytes_at_end" in results:
        t.add_row("database at the end (dropped)", gb(results["database_bytes_at_end"] or 0))
    t.add_row("wall time", f"{results.get('wall_seconds', 0):,.0f} s")
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 160)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds like Ctrl-C: the database is dropped
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": accruals_run.git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": os.getloadavg(),
        },
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "profile": {"bands_percent_min_max": scale_data.BANDS, "mean_flights": scale_data.MEAN_FLIGHTS},
    }
    started = time.perf_counter()
    failed = False
    try:
        measure(args, console, results)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 (recorded in the results, exit 1)
        failed = True
        results["failure"] = "".join(traceback.format_exception(exc))
        console.print(f"[red]scale run failed:[/red] {exc!r}", highlight=False)
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_after"] = os.getloadavg()
    print_tables(results, console)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"results written to {args.output}")
    accruals = results.get("accruals", {})
    errors = sum(accruals[p]["errors"]["count"] for p in ("members", "single", "batch") if p in accruals)
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
