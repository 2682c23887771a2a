"""The nightly benchmark's moving parts: a private redis-server, `miles worker` on the bench database, the
night started as beat starts it and followed to its last chunk, and the workers' peak memory."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import service
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

HERE = Path(__file__).resolve().parent
CLOCK_AT = "2028-04-01T03:00:00+00:00"  # the reference programme's: after both of its nights


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


def start_worker(
    url: str, broker: str, args: Any, log: Path, clock_at: str = CLOCK_AT
) -> subprocess.Popen[bytes]:
    """`miles worker` (args.concurrency processes, args.chunk_size) with its clock at `clock_at`."""
    env = {
        **os.environ,
        "MILES_DATABASE_URL": url,
        "MILES_BROKER_URL": broker,
        "MILES_CLOCK_AT": clock_at,
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
            " sum(expiry_ms), sum(warnings_ms), sum(segments_ms), sum(segment_transitions)"
            " FROM nightly_chunks WHERE run_id = %s",
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
        "chunk_ms_summed": {
            "requalification": sums[10],
            "expiry": sums[11],
            "warnings": sums[12],
            "segments": sums[13],
        },
        "segment_transitions": int(sums[14]),
        "report": report,
    }
