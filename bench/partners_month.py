"""bench/partners.py's settlement part: a month of partner activities generated in the database, read through
the API and closed by `miles partners settle`; and a `miles` command timed with its peak memory."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import nightly_data
import psycopg
import service
from httpclient import HttpConnection
from httpclient import run as run_async
from rich.console import Console
from scale_data import free_space, gb

RESULTS = Path(__file__).resolve().parent / "results"
# disk the settlement part needs per generated activity: the row and its five indexes (~260 B measured), WAL
# and sort files while they are built; 6 GB for 10 M. The statement file: ~65 B a line.
BYTES_PER_ACTIVITY, STATEMENT_BYTES_PER_LINE = 600, 100
REVERSED_EVERY = 50  # one generated activity in 50 is reversed in its month

# --- a `miles` command timed, with its peak memory -------------------------------------------------------


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed_miles(args: list[str], url: str, log_path: Path, timeout: float = 7200) -> dict[str, Any]:
    """`miles ARGS` as a child: wall time, exit code, peak RSS (its rusage; VmHWM polled beside it)."""
    polled = 0
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [service.miles_exe(), *args], env=service.miles_env(url), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                proc.kill()
            polled = max(polled, _vm_hwm_kb(proc.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    output = log_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"`miles {' '.join(args)}` exited with {proc.returncode}:\n{output[-3000:]}")
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "vm_hwm_polled_mb": round(polled / 1024, 1),
        "output": output,
    }


# --- part 3: a month of generated activities, closed ------------------------------------------------------

GENERATE = """
INSERT INTO partner_activities (partner, activity_id, member_id, request_digest, channel, activity_date, kind,
    category, amount, currency, amount_value, miles, status, posts_on, recorded_on, posted_on, posted_month,
    reversed_on, reversal_month, reversal_digest)
SELECT %(partner)s, 'S' || g, m.ids[(1 + g %% m.n)::int], 'bench-generated', 'file', d.day, %(kind)s,
       c.category, a.amount, %(currency)s, a.amount, floor(a.amount * %(per_unit)s::numeric * c.mult)::bigint,
       CASE WHEN r THEN 'reversed' ELSE 'posted' END, d.day, d.day, d.day, %(month)s::date,
       CASE WHEN r THEN least(d.day + 3, %(last)s::date) END, CASE WHEN r THEN %(month)s::date END,
       CASE WHEN r THEN 'bench-generated' END
FROM (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM members) m,
     generate_series(%(lo)s::bigint, %(hi)s::bigint) g,
     LATERAL (SELECT g %% %(every)s = 0 AS r, %(month)s::date + (g * 7919 %% %(days)s)::int AS day) d(r, day),
     LATERAL (SELECT (((g * 104729) %% 199500 + 500) / 100.0)::numeric(14, 2)) a(amount),
     LATERAL (SELECT (%(categories)s::text[])[(1 + g / 7 %% %(ncat)s)::int],
                     (%(mults)s::numeric[])[(1 + g / 7 %% %(ncat)s)::int]) c(category, mult)
"""
TOTALS = """
SELECT count(*), coalesce(sum(miles), 0), coalesce(sum(miles) FILTER (WHERE status = 'reversed'), 0)
FROM partner_activities WHERE partner = %s AND activity_id LIKE 'S%%' AND request_digest = 'bench-generated'
"""


def generate(
    url: str, partner: str, programme: Any, count: int, month: dt.date, console: Console
) -> dict[str, Any]:
    """`count` activities posted in `month` (one in REVERSED_EVERY reversed in it too), for the enrolled
    members, by INSERT ... SELECT generate_series in chunks of a million, with the table's secondary indexes
    dropped and built again after (as bench/nightly_data.py loads), then VACUUM ANALYZE."""
    contract = programme.partners[partner]
    kind, rule = next(iter(contract.activities.items()))
    if rule.per_unit is None:
        raise RuntimeError(f"{partner} does not earn on spend: choose another --settle-partner")
    last = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    cats = sorted(rule.categories)
    params: dict[str, Any] = {
        "partner": partner, "kind": kind, "currency": programme.currency, "per_unit": str(rule.per_unit),
        "month": month, "last": last, "days": last.day, "every": REVERSED_EVERY,
        "categories": [None, None, *cats], "mults": ["1", "1", *(str(rule.categories[c]) for c in cats)],
        "ncat": len(cats) + 2,
    }  # fmt: skip
    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for setting in nightly_data.SESSION[:-1]:
            conn.execute(setting)
        before = conn.execute("SELECT pg_total_relation_size('partner_activities')").fetchone()[0]  # type: ignore[index]
        indexes = nightly_data._secondary_indexes(conn, ("partner_activities",))
        started = time.perf_counter()
        for _, drop, _ in indexes:
            conn.execute(drop)
        for lo in range(1, count + 1, 1_000_000):
            conn.execute(GENERATE, {**params, "lo": lo, "hi": min(count, lo + 999_999)})
            console.log(f"settlement: {min(count, lo + 999_999):,} of {count:,} activities")
        timings["insert"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        for _, _, create in indexes:
            conn.execute(create)
        timings["indexes"] = round(time.perf_counter() - started, 1)
        timings["vacuum_analyze"] = nightly_data.vacuum(url, ("partner_activities",))
        rows, issued, reversed_ = conn.execute(TOTALS, (partner,)).fetchone()  # type: ignore[misc]
        after = conn.execute("SELECT pg_total_relation_size('partner_activities')").fetchone()[0]  # type: ignore[index]
    return {
        "activities": rows, "miles_issued": int(issued), "miles_reversed": int(reversed_),
        "seconds": timings, "bytes_per_activity": round((after - before) / max(1, rows)),
        "table_bytes": after,
    }  # fmt: skip


def read_settlement(
    host: str, port: int, key: str, path: str, times: int = 3
) -> tuple[list[float], dict[str, Any]]:
    async def reads() -> tuple[list[float], dict[str, Any]]:
        conn = HttpConnection(host, port, key)
        seconds: list[float] = []
        body: dict[str, Any] = {}
        try:
            for _ in range(times):
                t0 = time.perf_counter()
                status, raw = await conn.request("GET", path)
                seconds.append(round(time.perf_counter() - t0, 4))
                if status != 200:
                    raise RuntimeError(f"GET {path}: {status} {raw[:500]!r}")
                body = json.loads(raw)
        finally:
            await conn.close()
        return seconds, body

    return run_async(reads())


def statement_check(path: Path, expected: dict[str, Any]) -> dict[str, Any]:
    """The statement's activity lines (all but the header and the three closing lines) and its totals."""
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            lines += block.count(b"\n")
        handle.seek(max(0, path.stat().st_size - 4096))
        totals = handle.read().decode().splitlines()[-1].split(",")
    issued, reversed_ = int(totals[3]), int(totals[4])
    ok = lines - 4 == expected["activities"] and (issued, reversed_) == (
        expected["miles_issued"], expected["miles_reversed"])  # fmt: skip
    return {
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "lines": lines - 4,
        "totals": totals,
        "adds_up": ok,
    }


def settlement(url: str, server: service.MilesServer, key: str, programme: Any, args: argparse.Namespace,
               month: dt.date, folder: Path, console: Console) -> dict[str, Any]:  # fmt: skip
    space = free_space(url)
    need = args.activities * BYTES_PER_ACTIVITY
    out_free, out_need = shutil.disk_usage(folder).free, args.activities * STATEMENT_BYTES_PER_LINE
    result: dict[str, Any] = {"disk": {**space, "needed_bytes": need, "statement_dir_free_bytes": out_free}}
    console.log(
        f"settlement: {gb(space['free_bytes'])} free under {space['data_directory']}, {gb(need)} needed"
    )
    if space["free_bytes"] < need or out_free < out_need:
        result["refused"] = (
            f"not enough free disk for {args.activities:,} activities: {gb(space['free_bytes'])} free for "
            f"PostgreSQL ({gb(need)} needed), {gb(out_free)} for the statement in {folder} ({gb(out_need)} "
            "needed); free some or lower --activities"
        )
        return result
    partner, label = args.settle_partner, f"{month:%Y-%m}"
    started = time.perf_counter()
    result["generated"] = generated = generate(url, partner, programme, args.activities, month, console)
    console.log(f"settlement: generated in {time.perf_counter() - started:.1f} s {generated['seconds']}")
    path = f"/v1/partners/{partner}/settlements/{label}"
    result["read_seconds"], body = read_settlement(server.host, server.port, key, path)
    result["read_open"] = body
    figures = ("activities", "miles_issued", "miles_reversed")
    result["settle"] = run = timed_miles(["partners", "settle", "--month", label, "--out", str(folder)], url,
                                         RESULTS / "partners-settle.log")  # fmt: skip
    run.pop("output")
    result["read_closed"] = closed = read_settlement(server.host, server.port, key, path, times=1)[1]
    result["statement"] = statement_check(folder / f"settlement-{partner}-{label}.csv", generated)
    wrong = [
        f"{name}: {which} {answer.get(name)} != generated {generated[name]}"
        for which, answer in (("open", body), ("closed", closed))
        for name in figures
        if answer.get(name) != generated[name]
    ]
    if not result["statement"]["adds_up"]:
        wrong.append(f"the statement does not match the generated data: {result['statement']}")
    result["mismatches"] = wrong
    return result
