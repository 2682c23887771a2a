"""The nightly segments phase against one hand-written set-based statement computing the same segments
(issue: finance and retention; target: the phase takes at most 2x the statement).

    .venv/bin/python bench/segments.py                     # 1,000,000 members
    .venv/bin/python bench/segments.py --members 100000    # a smoke test, not a measurement

On the nightly benchmark's data (nightly_data.py: about ten credited flights per member over 2025-03 to
2028-02, each with its lot), plus the flight accruals of those credits (departure = earned date), so the
segments read real flights. The run date is 2028-03-01 (the data's morning).

- **The phase**, on the second night (the first gives every member a first segment, a transition each; it is
  timed and shown apart): the vip threshold (once), then miles.adapters.db.segments' statement for each id range of
  `--chunk-size` members in turn (one transaction each, as a nightly chunk commits it: member_segments
  upserted, transitions recorded), and the night's counts; the sum of their times.
- **The reference**: one statement written here by hand from DESIGN.md's definitions, over every member at
  once, writing each member's segment and flags into a table (so it pays for its writes too: a logged table,
  as member_segments is).
The two must agree member by member (checked: a mismatch fails the run). Writes bench/results/segments.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import dbtools
import nightly_data
import psycopg
import service
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine

RESULTS = Path(__file__).resolve().parent / "results"
FIRST_NIGHT, RUN_DATE = date(2028, 3, 1), date(2028, 3, 2)  # the second night is a night like any other
TOP_TIER = "PLATINUM"  # the reference programme's highest tier (bench data is the reference programme's)

ACCRUALS = """
INSERT INTO accruals (member_id, ticket_number, coupon_number, request_digest, channel, marketing_carrier,
    operating_carrier, flight_number, origin, destination, departure_date, booking_class, distance_miles,
    base_miles, tier_bonus_miles, promotion_miles, award_miles, fare_value, tier_before, tier_after,
    balance_after, credits, period_start)
SELECT l.member_id, lpad(l.id::text, 13, '0'), 1, 'bench', 'batch', 'ZZ', 'ZZ', '1', 'JFK', 'LHR', l.earned_date,
       'Y', 3451, l.amount, 0, 0, l.amount, 0, 'BLUE', 'BLUE', 0, ARRAY[0]::numeric[], DATE '2025-01-01'
FROM lots l
"""

# DESIGN.md's segments, written once more by hand over every member: new < 90 days; lost: quiet over 24 months
# or all miles expired; lapsed: over 12; at_risk: over 6, or quiet more than 1.5 x the usual interval (the lower
# median of the gaps between distinct activity dates within 24 months); repeat: 2+ flights in 12 months;
# vip: top tier, or a positive 12-month value at the top-1 % threshold
REFERENCE = """
CREATE TABLE bench_reference AS
WITH f AS (
    SELECT a.member_id, a.departure_date AS day, a.award_miles AS miles FROM accruals a
    WHERE NOT EXISTS (SELECT 1 FROM accrual_reversals r WHERE r.accrual_id = a.id)
), year AS (
    SELECT member_id, count(*) AS flights, sum(miles) AS value FROM f
    WHERE day <= %(d)s AND day + interval '12 months' >= %(d)s GROUP BY member_id
), gaps AS (
    SELECT member_id, day - lag(day) OVER (PARTITION BY member_id ORDER BY day) AS gap
    FROM (SELECT DISTINCT member_id, day FROM f WHERE day <= %(d)s AND day + interval '24 months' >= %(d)s) d
), rhythm AS (
    SELECT member_id, percentile_disc(0.5) WITHIN GROUP (ORDER BY gap) AS usual FROM gaps
    WHERE gap IS NOT NULL GROUP BY member_id
), spent AS (
    SELECT l.member_id, bool_and(l.remaining = 0) AS empty,
           bool_or(EXISTS (SELECT 1 FROM lot_draws d JOIN transfers t ON t.id = d.transfer_id
                           WHERE d.lot_id = l.id AND t.code <> 'expiry')) AS used
    FROM lots l GROUP BY l.member_id
), x AS (
    SELECT m.id, CAST(m.created_at AT TIME ZONE 'UTC' AS date) AS enrolled,
           coalesce(m.last_activity_date, CAST(m.created_at AT TIME ZONE 'UTC' AS date)) AS quiet,
           r.usual, coalesce(y.flights, 0) AS flights, coalesce(y.value, 0) AS value, m.tier = %(top)s AS top,
           coalesce(s.empty AND NOT s.used AND a.pending = 0, false) AS expired
    FROM members m JOIN accounts a ON a.member_id = m.id LEFT JOIN year y ON y.member_id = m.id
    LEFT JOIN rhythm r ON r.member_id = m.id LEFT JOIN spent s ON s.member_id = m.id
), t AS (SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY value) AS v FROM x)
SELECT id AS member_id,
       CASE WHEN %(d)s::date - enrolled < 90 THEN 'new'
            WHEN quiet + interval '24 months' < %(d)s OR expired THEN 'lost'
            WHEN quiet + interval '12 months' < %(d)s THEN 'lapsed'
            WHEN quiet + interval '6 months' < %(d)s OR (%(d)s::date - quiet) * 2 > usual * 3 THEN 'at_risk'
            ELSE 'active' END AS segment,
       flights >= 2 AS repeat, top OR (value > 0 AND value >= t.v) AS vip
FROM x, t
"""

DIFFER = """
SELECT count(*) FROM member_segments s FULL JOIN bench_reference r USING (member_id)
WHERE (s.segment, s.repeat, s.vip) IS DISTINCT FROM (r.segment, r.repeat, r.vip)
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=int, default=1_000_000)
    p.add_argument("--chunk-size", type=int, default=50_000, help="members per chunk (the nightly's, 50,000)")
    p.add_argument(
        "--admin-url", default=os.environ.get("MILES_BENCH_DATABASE_URL", dbtools.DEFAULT_ADMIN_URL)
    )
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--output", type=Path, default=RESULTS / "segments.json")
    return p.parse_args(argv)


def phase(url: str, members: int, chunk: int, night: date) -> dict[str, float]:
    from miles.adapters.db.nightly_runs import NightlyRunRepository
    from miles.adapters.db.segments import SegmentRepository, count_segments

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    timings: dict[str, float] = {}
    try:
        with engine.begin() as c:
            started = time.perf_counter()
            threshold = SegmentRepository(c, "UTC", TOP_TIER, night).vip_threshold()
            timings["vip threshold"] = time.perf_counter() - started
        chunks = 0.0
        for lo in range(1, members + 1, chunk):
            with engine.begin() as c:
                NightlyRunRepository(c).plan_for_the_arguments()  # as a nightly chunk plans its statements
                started = time.perf_counter()
                SegmentRepository(c, "UTC", TOP_TIER, night).segment(lo, lo + chunk - 1, threshold)
                chunks += time.perf_counter() - started
        timings["chunks"] = chunks
        with engine.begin() as c:
            started = time.perf_counter()
            count_segments(c, night)
            timings["counts"] = time.perf_counter() - started
    finally:
        engine.dispose()
    timings["total"] = sum(timings.values())
    return {k: round(v, 2) for k, v in timings.items()}


def reference(url: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_reference")
        conn.execute("SET jit = off")  # as the phase's statements are planned
        started = time.perf_counter()
        conn.execute(REFERENCE, {"d": RUN_DATE, "top": TOP_TIER})
        return round(time.perf_counter() - started, 2)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    RESULTS.mkdir(exist_ok=True)
    name = f"miles_segments_bench_{os.getpid()}"
    url = dbtools.create_database(args.admin_url, name)
    try:
        service.migrate(url)
        console.print(f"[bold]{args.members:,} members[/bold]: generating")
        nightly_data.generate(url, args.members, lambda line: console.print(line))
        with psycopg.connect(url, autocommit=True) as conn:
            started = time.perf_counter()
            conn.execute(ACCRUALS)
            console.print(f"  accruals: {time.perf_counter() - started:.1f} s")
        nightly_data.vacuum(url, (*nightly_data.TABLES, "accruals"))
        reference_first = reference(url)
        first_night = phase(url, args.members, args.chunk_size, FIRST_NIGHT)
        timings = phase(url, args.members, args.chunk_size, RUN_DATE)
        reference_second = reference(url)
        with psycopg.connect(url) as conn:
            differ = int(conn.execute(DIFFER).fetchone()[0])  # type: ignore[index]
            counts = dict(conn.execute("SELECT segment, count(*) FROM member_segments GROUP BY 1").fetchall())
        best = min(reference_first, reference_second)
        results: dict[str, Any] = {
            "members": args.members,
            "chunk_size": args.chunk_size,
            "phase": timings,
            "first_night_phase": first_night,
            "reference_seconds": [reference_first, reference_second],
            "ratio": round(timings["total"] / best, 2),
            "members_differing": differ,
            "segments": counts,
        }
        args.output.write_text(json.dumps(results, indent=2, default=str))
        table = Table(title=f"nightly segments, {args.members:,} members, chunks of {args.chunk_size:,}")
        for column in ("phase (threshold + chunks + counts)", "reference statement", "ratio", "goal", "met?"):
            table.add_column(column, justify="right")
        ok = results["ratio"] <= 2 and differ == 0
        table.add_row(
            f"{timings['total']:.1f} s",
            f"{best:.1f} s",
            f"{results['ratio']:.2f}x",
            "<= 2x",
            "yes" if ok else "no",
        )
        console.print(table)
        console.print(f"segments: {counts}; members whose segment or flags differ: {differ}")
        console.print(
            f"the first night (every member's first segment: {args.members:,} transitions): "
            f"{first_night['total']:.1f} s"
        )
        return 0 if differ == 0 else 1
    finally:
        if not args.keep_db:
            dbtools.drop_database(args.admin_url, name)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
