"""The redemption load: POST /v1/redemptions paced or from closed-loop clients, the database watched for
the sagas' outcomes, a Celery worker's memory sampled, and request-to-CONFIRMED latencies."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from httpclient import TRANSPORT_ERRORS, HttpConnection, run
from loadgen import Errors, _text

AWARD_MILES = 7_500  # JFK-BOS economy saver: 187 miles, the first band
SEED_MILES_PER_COUPON = 14_295  # YY first class JFK-SIN (9,530 miles at 150 %), before any tier bonus


def award_body(member: str, day: str) -> bytes:
    item = {
        "kind": "flight",
        "origin": "JFK",
        "destination": "BOS",
        "departure_date": day,
        "cabin": "economy",
    }
    return json.dumps({"member_number": member, "items": [item]}, separators=(",", ":")).encode()


def seed_coupons(members: list[str], per_member: int, batch_size: int) -> list[list[tuple[Any, ...]]]:
    """Flown first-class coupons that give each member the miles to spend (tuples in coupons.COLUMNS order)."""
    flown = (dt.date.today() - dt.timedelta(days=10)).isoformat()
    rows = [
        (member, f"7{m:06d}{k:06d}", 1, "YY", "YY", "100", "JFK", "SIN", flown, "F")
        for m, member in enumerate(members)
        for k in range(per_member)
    ]
    return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]


# --- watching the database and the worker -------------------------------------------------------


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(found)


class Watch(threading.Thread):
    """Every `interval`: how many redemptions are PENDING / CONFIRMED / FAILED; every `rss_every`, the
    RSS of the Celery worker's main process and of each pool process, with the count of tasks done."""

    def __init__(self, db_url: str, worker_pid: int, interval: float = 0.2, rss_every: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.db_url, self.worker_pid = db_url, worker_pid
        self.interval, self.rss_every = interval, rss_every
        self.pending = self.confirmed = self.failed = 0
        self.samples: list[dict[str, Any]] = []
        self.recording = False
        self._halt = threading.Event()

    def run(self) -> None:
        last_rss = 0.0
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self._halt.is_set():
                counts = dict(
                    conn.execute("SELECT status, count(*) FROM redemptions GROUP BY status").fetchall()
                )
                self.pending = counts.get("PENDING", 0)
                self.confirmed = counts.get("CONFIRMED", 0)
                self.failed = counts.get("FAILED", 0)
                now = time.monotonic()
                if self.recording and now - last_rss >= self.rss_every:
                    last_rss = now
                    pool = children(self.worker_pid)
                    self.samples.append(
                        {
                            "tasks": self.confirmed + self.failed,
                            "main_kb": rss_kb(self.worker_pid),
                            "pool_kb": [rss_kb(p) for p in pool],
                            "pool_pids": pool,
                        }
                    )
                self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(10)

    def wait_settled(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        time.sleep(2 * self.interval)
        while self.pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.pending} redemptions still PENDING after {timeout:.0f} s")
            time.sleep(self.interval)


# --- the requests -----------------------------------------------------------------------------------


async def _post(conn: HttpConnection, body: bytes, sent: list[tuple[int, float]], errors: Errors) -> None:
    key = b"Idempotency-Key: %s\r\n" % uuid.uuid4().hex.encode()
    t = time.time()
    try:
        status, answer = await conn.request("POST", "/v1/redemptions", body, key)
    except TRANSPORT_ERRORS as exc:
        errors.add("transport", {"error": repr(exc)})
        return
    if status == 202:
        sent.append((json.loads(answer)["redemption_id"], t))
    else:
        errors.add(str(status), {"status": status, "body": _text(answer)})


async def _paced(
    host: str, port: int, key: str, members: list[str], rate: float, seconds: float, day: str
) -> dict[str, Any]:
    pool: asyncio.Queue[HttpConnection] = asyncio.Queue()
    for _ in range(32):
        pool.put_nowait(HttpConnection(host, port, key))
    sent: list[tuple[int, float]] = []
    errors = Errors()

    async def one(member: str) -> None:
        conn = await pool.get()
        try:
            await _post(conn, award_body(member, day), sent, errors)
        finally:
            pool.put_nowait(conn)

    started = time.perf_counter()
    tasks = []
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(members[i % len(members)])))
    await asyncio.gather(*tasks)
    while not pool.empty():
        await pool.get_nowait().close()
    return {"sent": sent, "seconds": time.perf_counter() - started, "errors": errors.as_dict()}


def paced(
    host: str, port: int, key: str, members: list[str], rate: float, seconds: float, day: str
) -> dict[str, Any]:
    """An open-loop load: a request every 1/rate s whatever the answers, for `seconds`."""
    return run(_paced(host, port, key, members, rate, seconds, day))


async def _closed(
    host: str,
    port: int,
    key: str,
    members: list[str],
    total: int,
    clients: int,
    watch: Watch,
    backlog: int,
    day: str,
) -> dict[str, Any]:
    counter = itertools.count()
    sent: list[tuple[int, float]] = []
    errors = Errors()

    async def client() -> None:
        conn = HttpConnection(host, port, key)
        try:
            while (i := next(counter)) < total:
                while watch.pending >= backlog:  # the workers are behind: wait, as a real front end would
                    await asyncio.sleep(0.005)
                await _post(conn, award_body(members[i % len(members)], day), sent, errors)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return {"sent": sent, "seconds": time.perf_counter() - started, "errors": errors.as_dict()}


def closed_loop(
    host: str,
    port: int,
    key: str,
    members: list[str],
    total: int,
    clients: int,
    watch: Watch,
    backlog: int,
    day: str,
) -> dict[str, Any]:
    """`clients` clients each posting back to back, held back while `backlog` redemptions are PENDING."""
    return run(_closed(host, port, key, members, total, clients, watch, backlog, day))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def confirmation_times(db_url: str, sent: list[tuple[int, float]]) -> dict[str, Any]:
    """Request-to-CONFIRMED latencies: the client's send time to the saga's CONFIRMED history line
    (both from this machine's wall clock); and the end-to-end rate from the first send to the last
    confirmation."""
    ids = [rid for rid, _ in sent]
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT redemption_id, extract(epoch FROM at)::float8 FROM redemption_history "
            "WHERE status = 'CONFIRMED' AND redemption_id = ANY(%s)",
            (ids,),
        ).fetchall()
    confirmed = dict(rows)
    latencies = sorted((confirmed[rid] - t) * 1000 for rid, t in sent if rid in confirmed)
    span = (max(confirmed.values()) - min(t for _, t in sent)) if confirmed else 0.0
    return {
        "accepted": len(sent),
        "confirmed": len(confirmed),
        "per_s": len(confirmed) / span if span > 0 else 0.0,
        "p50_ms": _percentile(latencies, 0.50),
        "p90_ms": _percentile(latencies, 0.90),
        "p99_ms": _percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else float("nan"),
    }


def memory_report(samples: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """RSS of the worker's processes: after the first 10 % of the tasks (warm), at the end, the most,
    and the growth per 10,000 tasks fitted over the warm samples (least squares)."""
    warm = [s for s in samples if s["tasks"] >= total * 0.1] or samples
    if not warm:
        return {}

    def series(s: dict[str, Any]) -> float:
        return (s["main_kb"] + sum(s["pool_kb"])) / 1024

    xs = [s["tasks"] for s in warm]
    ys = [series(s) for s in warm]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return {
        "samples": len(samples),
        "tasks_done": warm[-1]["tasks"],
        "warm_total_mb": round(ys[0], 1),
        "end_total_mb": round(ys[-1], 1),
        "max_total_mb": round(max(series(s) for s in samples), 1),
        "growth_mb_per_10k_tasks": round(slope * 10_000, 3),
        "warm_pool_mb": [round(kb / 1024, 1) for kb in warm[0]["pool_kb"]],
        "end_pool_mb": [round(kb / 1024, 1) for kb in warm[-1]["pool_kb"]],
        "pool_pids_stable": warm[0]["pool_pids"] == warm[-1]["pool_pids"],
    }
