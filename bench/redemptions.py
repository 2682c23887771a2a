"""miles redemption benchmark: the booking saga end to end, with an instant simulated supplier and real
Celery workers on a Redis of its own.

    .venv/bin/python bench/redemptions.py [--quick]

Makes a throwaway database, starts a private redis-server, `miles serve` (jobs relayed to Celery) and
`miles worker`, gives members miles through the batch accrual API, then measures
1. request to CONFIRMED at a steady offered load (p50 / p99, target p99 < 250 ms);
2. redemptions per second end to end from closed-loop clients, over 100,000 tasks, while sampling the
   worker's memory (target: flat).
Prints a table and writes bench/results/redemptions.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import dbtools
import loadgen
import redemption_load as load
import service
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SCOPES = ("member:write", "member:read", "accrual:write", "redemption:write")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke test: 5,000 tasks, 5 s of paced load")
    p.add_argument(
        "--tasks", type=int, help="redemptions in the throughput and memory phase (100000; quick 5000)"
    )
    p.add_argument("--rate", type=float, default=40.0, help="offered redemptions/s in the latency phase (40)")
    p.add_argument("--paced-seconds", type=float, help="length of the latency phase (30; quick 5)")
    p.add_argument("--clients", type=int, default=8, help="closed-loop clients in the throughput phase (8)")
    p.add_argument("--backlog", type=int, default=64, help="clients wait while this many are PENDING (64)")
    p.add_argument("--members", type=int, help="members the awards are spread over (500; quick 50)")
    p.add_argument("--api-workers", type=int, default=2, help="`miles serve --workers` (2)")
    p.add_argument("--worker-concurrency", type=int, default=2, help="`miles worker --concurrency` (2)")
    p.add_argument("--keep-db", action="store_true", help="leave the bench database for inspection")
    p.add_argument("--strict", action="store_true", help="exit 2 when a target is not met")
    p.add_argument("--output", type=Path, default=RESULTS / "redemptions.json")
    args = p.parse_args(argv)
    for name, full, quick in (("tasks", 100_000, 5_000), ("paced_seconds", 30.0, 5.0), ("members", 500, 50)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


class Background:
    """A child process in its own session, its output in a log file."""

    def __init__(self, cmd: list[str], env: dict[str, str], log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


def start_redis(port: int, workdir: Path) -> Background:
    redis = Background(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        dict(os.environ),
        RESULTS / "redis.log",
    )  # fmt: skip
    import redis as redis_client

    deadline = time.monotonic() + 10
    while True:
        try:
            if redis_client.Redis(port=port).ping():
                return redis
        except redis_client.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def api_key(db_url: str) -> str:
    args = ["apikey", "create", "bench-redemptions"]
    for scope in SCOPES:
        args += ["--scope", scope]
    return service.run_cli(args, db_url).strip().splitlines()[-1]


def seed_miles(console: Console, host: str, port: int, key: str, members: list[str], awards: int) -> None:
    per_member = -(-awards * load.AWARD_MILES // (len(members) * load.SEED_MILES_PER_COUPON)) + 1
    batches = load.seed_coupons(members, per_member, 10_000)
    stats = loadgen.post_batches(host, port, key, batches)
    if stats["errors"]["count"]:
        raise RuntimeError(f"seeding miles failed: {stats['errors']}")
    console.log(
        f"miles: {stats['created']:,} first-class coupons through the batch API in {stats['seconds']} s"
    )


def run(args: argparse.Namespace, console: Console, results: dict[str, Any]) -> None:
    admin_url = os.environ.get("MILES_BENCH_DATABASE_URL", dbtools.DEFAULT_ADMIN_URL)
    pid = os.getpid()
    name = f"miles_bench_redemptions_{pid}"
    workdir = RESULTS / f"redis-{pid}"
    workdir.mkdir(parents=True, exist_ok=True)
    procs: list[Background] = []
    server: service.MilesServer | None = None
    watch: load.Watch | None = None
    db_url: str | None = None
    results["postgres"] = dbtools.server_info(admin_url)
    try:
        db_url = dbtools.create_database(admin_url, name)
        redis_port = service.free_port()
        procs.append(start_redis(redis_port, workdir))
        os.environ["MILES_BROKER_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        os.environ.setdefault("MILES_LOG_LEVEL", "warning")
        console.log(f"database {name}, redis-server on port {redis_port}")
        service.migrate(db_url)
        key = api_key(db_url)
        server = service.MilesServer(db_url, args.api_workers, RESULTS / "redemptions-server.log")
        server.start()
        server.wait_healthy()
        worker = Background(
            [
                service.miles_exe(),
                "worker",
                "--concurrency",
                str(args.worker_concurrency),
                "--queues",
                "default",
            ],
            service.miles_env(db_url),
            RESULTS / "redemptions-worker.log",
        )
        procs.append(worker)
        console.log(
            f"miles serve --workers {args.api_workers}; miles worker --concurrency {args.worker_concurrency}"
        )
        host, port = server.host, server.port

        members, results["members"] = loadgen.create_members(host, port, key, args.members, 16, tag=str(pid))
        warmup = 200
        seed_miles(
            console, host, port, key, members, warmup + int(args.rate * args.paced_seconds) + args.tasks
        )
        day = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        watch = load.Watch(db_url, worker.proc.pid)
        watch.start()

        load.paced(host, port, key, members, 50, warmup / 50, day)  # warm-up: connections, caches
        watch.wait_settled(120)
        console.log(f"latency: {args.rate:g} redemptions/s offered for {args.paced_seconds:g} s")
        paced = load.paced(host, port, key, members, args.rate, args.paced_seconds, day)
        watch.wait_settled(120)
        results["latency"] = {
            "offered_per_s": args.rate,
            **load.confirmation_times(db_url, paced["sent"]),
            "errors": paced["errors"],
        }
        lat = results["latency"]
        console.log(
            f"latency: p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms ({lat['confirmed']} confirmed)"
        )

        console.log(f"throughput + memory: {args.tasks:,} redemptions from {args.clients} clients")
        base = watch.confirmed + watch.failed
        watch.samples.clear()
        watch.recording = True
        closed = load.closed_loop(
            host, port, key, members, args.tasks, args.clients, watch, args.backlog, day
        )
        watch.wait_settled(600)
        time.sleep(2.5)  # one more memory sample at the end
        watch.recording = False
        for s in watch.samples:
            s["tasks"] -= base
        results["throughput"] = {
            **load.confirmation_times(db_url, closed["sent"]),
            "errors": closed["errors"],
        }
        results["memory"] = load.memory_report(watch.samples, args.tasks)
        results["memory_samples"] = watch.samples
        results["failed_redemptions"] = watch.failed
    finally:
        if watch is not None:
            watch.stop()
        if server is not None:
            server.stop()
        for proc in reversed(procs):
            proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if db_url is not None and not args.keep_db:
            dbtools.drop_database(admin_url, name)


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    lat, thr, mem = results.get("latency", {}), results.get("throughput", {}), results.get("memory", {})
    growth = mem.get("growth_mb_per_10k_tasks")
    return [
        ("request to CONFIRMED, p99", f"{lat.get('p99_ms', float('nan')):.1f} ms (p50 {lat.get('p50_ms', float('nan')):.1f})",
         "< 250 ms", lat.get("p99_ms", 1e9) < 250 if lat else None),
        ("redemptions/s end to end", f"{thr.get('per_s', 0):,.0f}/s (p99 {thr.get('p99_ms', float('nan')):.0f} ms)",
         "(reported)", None),
        (f"worker RSS over {mem.get('tasks_done', 0):,} tasks",
         f"{mem.get('warm_total_mb', '?')} -> {mem.get('end_total_mb', '?')} MB, {growth} MB/10k tasks",
         "flat (< 1 MB/10k)", abs(growth) < 1.0 if growth is not None else None),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 150)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    failed = False
    try:
        run(args, console, results)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 (recorded with its traceback in the results)
        failed = True
        results["failure"] = "".join(traceback.format_exception(exc))
        console.print(f"[red]benchmark failed: {exc!r}[/red]")
    table = Table("target", "measured", "goal", "met?")
    rows = targets(results)
    for name, measured, goal, met in rows:
        table.add_row(name, measured, goal, "-" if met is None else ("yes" if met else "NO"))
    console.print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str))
    console.log(f"wrote {args.output}")
    errors = sum(results.get(k, {}).get("errors", {}).get("count", 0) for k in ("latency", "throughput"))
    if failed or errors or results.get("failed_redemptions"):
        return 1
    if args.strict and any(met is False for *_, met in rows):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
