"""miles nightly benchmark: DESIGN.md's nightly target, measured in one run on the same data.

    .venv/bin/python bench/nightly.py [--quick] [--members N]

Makes a throwaway database with 1,000,000 members, about 10,000,000 status credits and as many earn lots
over three years (bench/nightly_data.py, server-side), times one hand-written set-based SQL statement
computing every member's new tier on the night of 2028-03-01, then the real nightly run of that night
through `miles worker` (2 processes) on a private Redis, prints both and their ratio (target <= 2), then
an expiry night (2028-04-01) for information, and the peak memory of the worker processes.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dbtools
import nightly_data
import psycopg
import service
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REQUALIFICATION_NIGHT, EXPIRY_NIGHT = dt.date(2028, 3, 1), dt.date(2028, 4, 1)
CLOCK_AT = "2028-04-01T03:00:00+00:00"  # the workers' clock: after both nights

TIER = "array_position(ARRAY['BLUE','SILVER','GOLD','PLATINUM'], {0}) - 1"
NEW_TIER = f"""
    SELECT m.id, {TIER.format("m.tier")} AS tier, m.tier_valid_until AS valid,
           greatest({TIER.format("m.lifetime_tier")}, CASE WHEN m.lifetime_total >= 2000000 THEN 3
                    WHEN m.lifetime_total >= 1000000 THEN 2 ELSE 0 END) AS life,
           CASE WHEN q.metrics[1] >= 75000 OR q.metrics[2] >= 100 THEN 3
                WHEN q.metrics[1] >= 50000 OR q.metrics[2] >= 60 THEN 2
                WHEN q.metrics[1] >= 25000 OR q.metrics[2] >= 30 THEN 1 ELSE 0 END AS earned
    FROM members m LEFT JOIN qualifying_totals q ON q.member_id = m.id AND q.period_start = %(last_start)s
"""
# the reference: every member's new tier (requalification with soft landing, lifetime floor), one statement
REFERENCE_SELECT = f"""
    SELECT new_tier, count(*) FROM (
        SELECT greatest(life, CASE WHEN valid < %(night)s THEN greatest(earned, tier - 1) ELSE tier END) AS new_tier
        FROM ({NEW_TIER}) t
    ) s GROUP BY new_tier ORDER BY new_tier
"""
# the same, written to the members (in a transaction that is rolled back)
REFERENCE_UPDATE = f"""
    UPDATE members m SET tier = (ARRAY['BLUE','SILVER','GOLD','PLATINUM'])[n.new_tier + 1],
           tier_valid_until = CASE WHEN n.new_tier = 0 OR n.new_tier = n.life THEN NULL ELSE %(valid)s END,
           lifetime_tier = (ARRAY['BLUE','SILVER','GOLD','PLATINUM'])[n.life + 1]
    FROM (SELECT id, life, greatest(life, CASE WHEN valid < %(night)s THEN greatest(earned, tier - 1)
                                              ELSE tier END) AS new_tier, tier, valid
          FROM ({NEW_TIER}) t) n
    WHERE m.id = n.id AND (n.valid < %(night)s OR n.new_tier <> n.tier)
"""


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
    p.add_argument("--keep-db", action="store_true", help="leave the bench database for inspection")
    p.add_argument("--output", type=Path, default=RESULTS / "nightly.json")
    args = p.parse_args(argv)
    if args.members is None:
        args.members = 100_000 if args.quick else 1_000_000
    return args


def reference(url: str, runs: int) -> dict[str, Any]:
    """The hand-written statement, `runs` times with the server's JIT setting and `runs` times without JIT
    (the faster median is the reference); then once as an UPDATE, rolled back."""
    params = {
        "night": REQUALIFICATION_NIGHT,
        "last_start": dt.date(REQUALIFICATION_NIGHT.year - 1, 1, 1),
        "valid": dt.date(2029, 2, 28),
    }
    timings: dict[str, list[float]] = {"server default": [], "jit off": []}
    tiers: list[Any] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    with psycopg.connect(url) as conn:
        for setting, times in timings.items():
            if setting == "jit off":
                conn.execute("SET jit = off")
            for _ in range(runs):
                started = time.perf_counter()
                tiers = conn.execute(REFERENCE_SELECT, params).fetchall()  # type: ignore[arg-type]
                times.append(round(time.perf_counter() - started, 3))
        conn.rollback()
        started = time.perf_counter()
        updated = conn.execute(REFERENCE_UPDATE, params).rowcount  # type: ignore[arg-type]
        update_seconds = time.perf_counter() - started
        conn.rollback()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM members")  # the rolled-back update's dead rows, before the real night
        conn.execute(
            "CHECKPOINT"
        )  # the night writes its pages' first images to the WAL, as a real night does
    medians = {k: statistics.median(v) for k, v in timings.items()}
    return {
        "select_seconds": timings,
        "select_median_seconds": round(min(medians.values()), 3),
        "new_tiers": {["BLUE", "SILVER", "GOLD", "PLATINUM"][t]: n for t, n in tiers},
        "update_seconds": round(update_seconds, 3),
        "update_rows": updated,
    }


class Redis:
    """A redis-server of the benchmark's own on a free port, no persistence."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.dir = tempfile.mkdtemp(prefix="miles-bench-redis-")
        exe = shutil.which("redis-server") or "redis-server"
        self.process = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def start_worker(url: str, broker: str, args: argparse.Namespace, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MILES_DATABASE_URL": url,
        "MILES_BROKER_URL": broker,
        "MILES_CLOCK_AT": CLOCK_AT,
        "MILES_NIGHTLY_CHUNK_SIZE": str(args.chunk_size),
        "MILES_LOG_LEVEL": "info",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [service.miles_exe(), "worker", "--concurrency", str(args.concurrency), "--queues", "nightly"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while b"ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"miles worker did not start; see {log}")
        time.sleep(0.1)
    return process


def warm_up(redis: Redis) -> None:
    """A few harmless jobs (the chunk reconciler) so that each worker process has connected to the database
    and loaded the programme before the night, as long-running workers have."""
    sys.path.insert(0, str(HERE.parent / "src"))
    import redis as redis_client

    from miles.adapters.queue import CeleryDispatcher
    from miles.services.nightly.runs import RECONCILE_JOB

    dispatcher = CeleryDispatcher(redis.url)
    for _ in range(6):
        dispatcher.send(RECONCILE_JOB, {})
    client = redis_client.Redis(port=redis.port)
    deadline = time.monotonic() + 60
    while client.llen("nightly") or client.hlen("unacked"):
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not take the warm-up jobs")
        time.sleep(0.05)
    time.sleep(0.5)


def peak_rss_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak resident set) of the worker's main process and of its pool processes."""
    pids = [pid] + [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == pid]
    out = {}
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out["main" if p == pid else f"pool-{p}"] = round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
    return out


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def run_night(url: str, broker: str, night: dt.date, console: Console) -> dict[str, Any]:
    """Send the start job as beat would, follow the run to its last chunk; its report and timings."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from miles.adapters.queue import CeleryDispatcher
    from miles.services.nightly.runs import START_JOB

    dispatcher = CeleryDispatcher(broker)
    with psycopg.connect(url, autocommit=True) as conn:
        sent = time.perf_counter()
        dispatcher.send(START_JOB, {"run_date": night.isoformat()})
        columns = (TextColumn(f"night {night}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            bar = progress.add_task("chunks", total=None)
            while True:
                row = conn.execute(
                    "SELECT status, chunks, chunks_done FROM nightly_runs WHERE run_date = %s", (night,)
                ).fetchone()
                if row is not None:
                    progress.update(bar, total=row[1], completed=row[2])
                    if row[0] == "done":
                        break
                time.sleep(0.01)
        seen_done = time.perf_counter() - sent
        run = conn.execute(
            "SELECT id, plan_ms, chunks, extract(epoch FROM finished_at - started_at) FROM nightly_runs "
            "WHERE run_date = %s",
            (night,),
        ).fetchone()
        assert run is not None
        sums = conn.execute(
            "SELECT sum(members), sum(requalified), sum(kept), sum(upgraded), sum(downgraded), sum(lifetime_grants),"
            " sum(members_expired), sum(lots_expired), sum(miles_expired), sum(warnings), sum(requalification_ms),"
            " sum(expiry_ms), sum(warnings_ms) FROM nightly_chunks WHERE run_id = %s",
            (run[0],),
        ).fetchone()
    assert sums is not None
    names = (
        "members requalified kept up down lifetime_grants members_expired lots_expired miles_expired warnings"
    )
    report = dict(zip(names.split(), (int(v) for v in sums[:10]), strict=True))
    return {
        "night": night.isoformat(),
        "seconds": round(seen_done, 3),  # start job sent -> last chunk committed (as seen by polling)
        "run_seconds": round(float(run[3]), 3),  # the run row's start -> the last chunk's commit
        "plan_ms": run[1],
        "chunks": run[2],
        "chunk_ms_summed": {"requalification": sums[10], "expiry": sums[11], "warnings": sums[12]},
        "report": report,
    }


def print_table(results: dict[str, Any], console: Console) -> None:
    ref, night = results["reference"], results["nights"][0]
    ratio = night["seconds"] / ref["select_median_seconds"]
    results["ratio"] = round(ratio, 2)
    results["ratio_vs_update"] = round(night["seconds"] / ref["update_seconds"], 2)
    results["target_met"] = ratio <= 2.0
    table = Table(title=f"nightly benchmark, {results['counts']['members']:,} members")
    table.add_column("measure")
    table.add_column("value", justify="right")
    counts = results["counts"]
    table.add_row("status credits / earn lots", f"{counts['status_credits']:,} / {counts['lots']:,}")
    table.add_row(
        "generator (+ VACUUM ANALYZE)",
        f"{results['generator_seconds']:.1f} s (+ {results['vacuum_seconds']:.1f} s)",
    )
    table.add_row(
        "reference: one SELECT, every member's new tier (median)", f"{ref['select_median_seconds']:.3f} s"
    )
    table.add_row("reference: the same as one UPDATE (rolled back)", f"{ref['update_seconds']:.3f} s")
    table.add_row(
        f"nightly run {night['night']}, {results['parameters']['concurrency']} worker processes",
        f"{night['seconds']:.3f} s",
    )
    table.add_row("  of which planning (one statement)", f"{night['plan_ms'] / 1000:.3f} s")
    table.add_row("ratio nightly / SELECT (target <= 2)", f"{ratio:.2f} {'met' if ratio <= 2 else 'NOT met'}")
    table.add_row("ratio nightly / UPDATE", f"{results['ratio_vs_update']:.2f}")
    r = night["report"]
    table.add_row(
        "  requalified / up / down / lifetime",
        f"{r['requalified']:,} / {r['up']:,} / {r['down']:,} / {r['lifetime_grants']:,}",
    )
    for extra in results["nights"][1:]:
        e = extra["report"]
        table.add_row(f"night {extra['night']} (expiry, warnings)", f"{extra['seconds']:.3f} s")
        table.add_row(
            "  miles / lots / members expired",
            f"{e['miles_expired']:,} / {e['lots_expired']:,} / {e['members_expired']:,}",
        )
        table.add_row("  warnings queued", f"{e['warnings']:,}")
    rss = results["worker_peak_rss_mb"]
    pools = [v for k, v in rss.items() if k.startswith("pool")]
    table.add_row(
        "peak RSS of a worker process (pool / main)",
        f"{max(pools, default=0):.0f} MB / {rss.get('main', 0):.0f} MB",
    )
    console.print(table)


def run(args: argparse.Namespace, console: Console, results: dict[str, Any]) -> None:
    admin_url = os.environ.get("MILES_BENCH_DATABASE_URL", dbtools.DEFAULT_ADMIN_URL)
    name = f"miles_nightly_bench_{os.getpid()}"
    url = dbtools.create_database(admin_url, name)
    redis = worker = None
    try:
        console.log(f"database {name}: miles db upgrade")
        service.migrate(url)
        console.log(f"generating {args.members:,} members (server-side)")
        started = time.perf_counter()
        results["generator_steps"] = nightly_data.generate(url, args.members, console.log)
        results["generator_seconds"] = round(time.perf_counter() - started, 1)
        results["vacuum_seconds"] = nightly_data.vacuum(url)
        results["counts"] = nightly_data.counts(url)
        console.log(f"generated in {results['generator_seconds']} s: {results['counts']}")
        results["reference"] = reference(url, args.reference_runs)
        console.log(f"reference: {results['reference']}")
        redis = Redis()
        RESULTS.mkdir(parents=True, exist_ok=True)
        worker = start_worker(url, redis.url, args, RESULTS / "nightly-worker.log")
        warm_up(redis)
        nights = [REQUALIFICATION_NIGHT] + ([] if args.skip_expiry_night else [EXPIRY_NIGHT])
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
    }
    run(args, console, results)
    results["machine"]["load_after"] = os.getloadavg()
    print_table(results, console)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
