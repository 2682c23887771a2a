"""The HTTP load: members, single accruals from concurrent clients, and batches."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from coupons import CouponFactory, CouponMix, encode, encode_batch
from httpclient import TRANSPORT_ERRORS, HttpConnection, run

MAX_SAMPLES = 5


@dataclass
class Errors:
    count: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, detail: dict[str, Any]) -> None:
        self.count += 1
        self.by_kind[kind] += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append({"kind": kind, **detail})

    def merge(self, other: dict[str, Any]) -> None:
        self.count += other["count"]
        self.by_kind.update(other["by_kind"])
        self.samples.extend(other["samples"][: MAX_SAMPLES - len(self.samples)])

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "by_kind": dict(self.by_kind), "samples": self.samples}


def _text(body: bytes, limit: int = 600) -> str:
    return body[:limit].decode(errors="replace")


# --- members -------------------------------------------------------------------------------------


async def _create_members(host: str, port: int, key: str, count: int, concurrency: int, tag: str):
    members: list[str] = []
    errors = Errors()
    pending = iter(range(count))

    async def client() -> None:
        conn = HttpConnection(host, port, key)
        try:
            for i in pending:
                body = json.dumps(
                    {
                        "given_name": f"Bench{i}",
                        "family_name": "Loadtest",
                        "email": f"bench.{tag}.{i}@example.com",
                    }
                ).encode()
                try:
                    status, answer = await conn.request("POST", "/v1/members", body)
                except TRANSPORT_ERRORS as exc:
                    errors.add("transport", {"request": body.decode(), "error": repr(exc)})
                    continue
                if status == 201:
                    members.append(json.loads(answer)["member_number"])
                else:
                    errors.add(
                        str(status), {"request": body.decode(), "status": status, "body": _text(answer)}
                    )
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(min(concurrency, count))))
    seconds = time.perf_counter() - started
    return members, {"created": len(members), "seconds": round(seconds, 3), "errors": errors.as_dict()}


def create_members(host: str, port: int, key: str, count: int, concurrency: int, tag: str):
    """POST /v1/members `count` times from `concurrency` clients; returns (member numbers, stats)."""
    return run(_create_members(host, port, key, count, concurrency, tag))


# --- single accruals -----------------------------------------------------------------------------


async def _single_stream(job: dict[str, Any]) -> dict[str, Any]:
    host, port, key = job["host"], job["port"], job["key"]
    factory = CouponFactory(
        job["members"], phase=1, stream=job["stream"], seed=job["seed"], mix=job.get("mix")
    )
    start_at, warm_end, end_at = job["start_at"], job["warm_end"], job["end_at"]
    latencies: list[float] = []
    errors = Errors()
    last_done = warm_end

    async def client() -> None:
        nonlocal last_done
        conn = HttpConnection(host, port, key)
        try:
            while True:
                sent_at = time.time()
                if sent_at >= end_at:
                    return
                body = encode(factory.single())
                t0 = time.perf_counter()
                try:
                    status, answer = await conn.request("POST", "/v1/accruals/flights", body)
                except TRANSPORT_ERRORS as exc:
                    errors.add("transport", {"request": body.decode(), "error": repr(exc)})
                    await asyncio.sleep(0.05)
                    continue
                elapsed = time.perf_counter() - t0
                if status != 201:
                    errors.add(
                        str(status), {"request": body.decode(), "status": status, "body": _text(answer)}
                    )
                elif sent_at >= warm_end:
                    latencies.append(elapsed)
                    last_done = max(last_done, time.time())
        finally:
            await conn.close()

    await asyncio.sleep(max(0.0, start_at - time.time()))
    cpu0 = time.process_time()
    await asyncio.gather(*(client() for _ in range(job["connections"])))
    return {
        "latencies": latencies,
        "last_done": last_done,
        "requests": factory.counter,
        "cpu_seconds": time.process_time() - cpu0,
        "errors": errors.as_dict(),
    }


def single_stream(job: dict[str, Any]) -> dict[str, Any]:
    """One load process: `connections` clients, each one request in flight, keep-alive."""
    return run(_single_stream(job))


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def single_accruals(
    host: str,
    port: int,
    key: str,
    members: list[str],
    concurrency: int,
    processes: int,
    duration: float,
    warmup: float,
    seed: int = 0,
    mix: CouponMix | None = None,
) -> dict[str, Any]:
    """POST /v1/accruals/flights from `concurrency` clients spread over `processes` processes.

    `mix`: the programme's coupons (None: the reference programme's, as ever).
    Requests sent during the warm-up are checked but not timed; throughput is the number of 201s
    sent inside the measured window divided by the time from its start to the last of them.
    """
    processes = max(1, min(processes, concurrency, 99))
    start_at = time.time() + 2.0  # lets every process start and import before the clock starts
    warm_end = start_at + warmup
    jobs = []
    for stream in range(processes):
        share = concurrency // processes + (1 if stream < concurrency % processes else 0)
        jobs.append(
            {
                "host": host, "port": port, "key": key, "members": members, "stream": stream,
                "seed": seed, "connections": share, "start_at": start_at, "warm_end": warm_end,
                "end_at": warm_end + duration, "mix": mix,
            }
        )  # fmt: skip
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(single_stream, jobs)
    latencies = sorted(x for part in parts for x in part["latencies"])
    errors = Errors()
    for part in parts:
        errors.merge(part["errors"])
    window = max(part["last_done"] for part in parts) - warm_end
    cpu = sum(part["cpu_seconds"] for part in parts)
    return {
        "accruals": len(latencies),
        "requests_incl_warmup": sum(part["requests"] for part in parts),
        "seconds": round(window, 3),
        "per_s": len(latencies) / window if window > 0 else 0.0,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] * 1000) if latencies else float("nan"),
        "concurrency": concurrency,
        "client_processes": processes,
        "warmup_s": warmup,
        "client_cpu_seconds": round(cpu, 2),
        "client_cpu_share_of_2_cores": round(cpu / (2 * (warmup + window)), 3) if window > 0 else None,
        "errors": errors.as_dict(),
    }


# --- batches -------------------------------------------------------------------------------------


FLIGHT_BATCH = "/v1/accruals/flights/batch"


async def _batches(
    host: str, port: int, key: str, bodies: list[bytes], sizes: list[int], paths: list[str]
) -> dict[str, Any]:
    conn = HttpConnection(host, port, key)
    answers: list[tuple[int, bytes] | Exception] = []
    seconds: list[float] = []
    try:
        for body, path in zip(bodies, paths, strict=True):
            t0 = time.perf_counter()
            try:
                answers.append(await conn.request("POST", path, body))
            except TRANSPORT_ERRORS as exc:
                answers.append(exc)
            seconds.append(time.perf_counter() - t0)
    finally:
        await conn.close()
    # Checking the answers is the client's business, outside the timed part.
    errors = Errors()
    statuses: Counter[str] = Counter()
    for n, (answer, size) in enumerate(zip(answers, sizes, strict=True)):
        if isinstance(answer, Exception):
            errors.add("transport", {"batch": n, "error": repr(answer)})
            continue
        status, raw = answer
        if status != 200:
            errors.add(str(status), {"batch": n, "status": status, "body": _text(raw)})
            continue
        results = json.loads(raw).get("results", [])
        if len(results) != size:
            errors.add("count", {"batch": n, "detail": f"{len(results)} results for {size} items"})
        for result in results:
            statuses[result.get("status", "?")] += 1
            if result.get("status") != "created":
                errors.add(f"item:{result.get('status')}", {"batch": n, "result": result})
    total = sum(seconds)
    items = sum(sizes)
    return {
        "batches": len(bodies),
        "items": items,
        "created": statuses.get("created", 0),
        "statuses": dict(statuses),
        "seconds": round(total, 4),
        "per_s": statuses.get("created", 0) / total if total > 0 else 0.0,
        "batch_seconds": [round(s, 3) for s in seconds],
        "request_mb": round(sum(len(b) for b in bodies) / 1e6, 2),
        "errors": errors.as_dict(),
    }


def post_batches(host: str, port: int, key: str, batches: list[list[tuple[Any, ...]]]) -> dict[str, Any]:
    """POST each batch in turn on one keep-alive connection; bodies are encoded before timing."""
    bodies = [encode_batch(items) for items in batches]
    return post_encoded(
        host, port, key, [FLIGHT_BATCH] * len(bodies), bodies, [len(items) for items in batches]
    )


def post_encoded(
    host: str, port: int, key: str, paths: list[str], bodies: list[bytes], sizes: list[int]
) -> dict[str, Any]:
    """POST encoded batch bodies (each to its path, `sizes[i]` items each) in turn on one keep-alive
    connection; every item must answer `created`."""
    return run(_batches(host, port, key, bodies, sizes, paths))
