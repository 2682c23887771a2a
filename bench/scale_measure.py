"""What bench/scale.py reads from the database: table and index sizes, a nightly run's phases from the
run's own tables, and the plans of the queries a member read makes (EXPLAIN ANALYZE, BUFFERS)."""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

COUPON_TABLES = ("accruals", "entries", "lots", "transfers", "status_credits")
MEMBER_TABLES = ("members", "accounts", "qualifying_totals")


def sizes(url: str, exact: tuple[str, ...]) -> dict[str, Any]:
    """Per table: rows (counted for `exact`, else the planner's estimate), heap + TOAST, main fork, indexes,
    total; bytes per coupon (accruals rows) for the coupon tables and per member for the member tables."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            """
            SELECT c.relname, greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid),
                   pg_relation_size(c.oid), pg_table_size(c.oid), pg_indexes_size(c.oid)
            FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
            ORDER BY pg_total_relation_size(c.oid) DESC
            """
        ).fetchall()
        database = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        tables: dict[str, dict[str, Any]] = {}
        for name, estimate, total, main, table, indexes in rows:
            if name not in exact and total < 256 * 1024:
                continue
            count = None
            if name in exact:
                counted = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()
                count = int(counted[0]) if counted else 0
            tables[name] = {
                "rows": count if count is not None else int(estimate),
                "rows_exact": count is not None,
                "total_bytes": int(total),
                "relation_bytes": int(main),
                "table_bytes": int(table),  # main fork + free space and visibility maps + TOAST
                "indexes_bytes": int(indexes),
            }
    coupons = tables.get("accruals", {}).get("rows", 0)
    members = tables.get("members", {}).get("rows", 0)
    for name, t in tables.items():
        if name in COUPON_TABLES and coupons:
            t["bytes_per_coupon"] = round(t["total_bytes"] / coupons, 1)
        if name in MEMBER_TABLES and members:
            t["bytes_per_member"] = round(t["total_bytes"] / members, 1)
    per_coupon = sum(tables[t]["total_bytes"] for t in COUPON_TABLES if t in tables)
    per_member = sum(tables[t]["total_bytes"] for t in MEMBER_TABLES if t in tables)
    return {
        "database_bytes": int(database[0]) if database else 0,
        "coupons": coupons,
        "members": members,
        "coupon_tables_bytes": per_coupon,
        "member_tables_bytes": per_member,
        "bytes_per_coupon": round(per_coupon / coupons, 1) if coupons else None,
        "bytes_per_member": round(per_member / members, 1) if members else None,
        "tables": tables,
    }


PHASES = """
SELECT r.id, r.plan_ms, r.chunks, r.chunk_size, extract(epoch FROM r.finished_at - r.started_at),
       extract(epoch FROM min(c.done_at) - r.started_at), extract(epoch FROM r.finished_at - min(c.done_at)),
       sum(c.requalification_ms), sum(c.expiry_ms), sum(c.warnings_ms),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY c.requalification_ms + c.expiry_ms + c.warnings_ms),
       max(c.requalification_ms + c.expiry_ms + c.warnings_ms), max(c.enqueues)
FROM nightly_runs r JOIN nightly_chunks c ON c.run_id = r.id
WHERE r.run_date = %s GROUP BY r.id
"""


def night_phases(url: str, night: dt.date, warnings_timeout: float) -> dict[str, Any]:
    """The run's phases from nightly_runs / nightly_chunks (a chunk's done_at is the start of its
    transaction; the phases' milliseconds are measured by the worker inside it), then the relay of the
    night's expiry warnings (sent_at), waited for up to `warnings_timeout` seconds."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(PHASES, (night,)).fetchone()
        assert row is not None, f"no run for {night}"
        run_id, plan_ms, chunks, chunk_size, run_s, to_first, chunks_s, req, exp, warn, p50, worst, enq = row
        phases: dict[str, Any] = {
            "planning_s": plan_ms / 1000,  # the start job: chunks and candidates planned, chunk jobs queued
            "start_to_first_chunk_s": round(float(to_first), 3),
            "chunks_wall_s": round(float(chunks_s), 3),  # first chunk's start -> last chunk's commit
            "run_s": round(float(run_s), 3),  # the run row's start -> the last chunk's commit
            "chunks": chunks,
            "chunk_size": chunk_size,
            "max_enqueues": enq,
            # summed over the chunks (worker time, the processes in parallel)
            "requalification_s": round(req / 1000, 3),
            "expiry_s": round(exp / 1000, 3),
            "warnings_queued_s": round(warn / 1000, 3),
            "chunk_p50_ms": round(float(p50), 1),
            "chunk_max_ms": int(worst),
        }
        started = time.perf_counter()
        relay: dict[str, Any] = {}
        while True:
            queued, unsent, last = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE sent_at IS NULL), "
                "extract(epoch FROM max(sent_at) - (SELECT finished_at FROM nightly_runs WHERE id = %s)) "
                "FROM expiry_warnings WHERE run_id = %s",
                (run_id, run_id),
            ).fetchone()  # type: ignore[misc]
            if unsent == 0 or time.perf_counter() - started > warnings_timeout:
                break
            time.sleep(0.5)
        relay = {
            "queued": queued,
            "unsent": unsent,
            "last_sent_after_run_s": None if last is None else round(float(last), 3),
        }
        phases["warnings_relay"] = relay
    return phases


def _psycopg_sql(text: str) -> str:
    """A SQLAlchemy text() statement's `:name` parameters as psycopg's `%(name)s`."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", text.replace("%", "%%"))


def _member_queries() -> dict[str, str]:
    """The statements a member read runs, as the application holds them."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from miles.adapters.db import dated_statement, members, statements

    return {
        "member by number (standing, balance)": _psycopg_sql(members._SELECT),
        "statement page (API, 50 + 1 lines)": _psycopg_sql(statements._QUERY.text),
        "statement page (member page, 20 + 1)": _psycopg_sql(dated_statement._QUERY.text),
        "lots expiring in 90 days": (
            "SELECT earned_date, expires_date, remaining FROM lots "
            "WHERE member_id = %(m)s AND remaining > 0 AND expires_date <= %(lots_until)s ORDER BY expires_date, id"
        ),
    }


def _plan_summary(plan: dict[str, Any]) -> dict[str, Any]:
    top = plan["Plan"]
    return {
        "execution_ms": plan.get("Execution Time"),
        "planning_ms": plan.get("Planning Time"),
        "rows": top.get("Actual Rows"),
        "shared_hit": top.get("Shared Hit Blocks"),
        "shared_read": top.get("Shared Read Blocks"),
        "node": top.get("Node Type"),
    }


def member_reads(url: str) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of each member-read query for three members: the one with the most
    coupons, a typical flyer (median coupons among flyers) and a dormant one; twice each (as found, then
    warm)."""
    queries = _member_queries()
    out: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        picks = {
            "busiest": "SELECT member_id FROM accruals GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            "typical flyer": """SELECT member_id FROM (SELECT member_id, count(*) AS n FROM accruals GROUP BY 1) s
                                ORDER BY n, member_id OFFSET (SELECT count(DISTINCT member_id) / 2 FROM accruals)
                                LIMIT 1""",
            "dormant": "SELECT id FROM members m WHERE NOT EXISTS (SELECT 1 FROM accruals a WHERE a.member_id = m.id) "
            "ORDER BY id DESC LIMIT 1",
        }
        for who, pick in picks.items():
            found = conn.execute(pick).fetchone()
            if found is None:
                continue
            member = conn.execute(
                "SELECT m.id, m.member_number, a.id, (SELECT count(*) FROM accruals WHERE member_id = m.id) "
                "FROM members m JOIN accounts a ON a.member_id = m.id WHERE m.id = %s",
                (found[0],),
            ).fetchone()
            assert member is not None
            params = {
                "number": member[1], "period": dt.date(2028, 1, 1), "account": member[2], "before": None, "since": None,
                "until": None, "lots_until": dt.date(2028, 5, 30), "limit": 51, "m": member[0],
            }  # fmt: skip
            runs: dict[str, Any] = {"member_id": member[0], "coupons": member[3]}
            for name, sql in queries.items():
                limit = 21 if "20 + 1" in name else 51
                tries = []
                for _ in range(2):
                    plan = conn.execute(
                        "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql,
                        params | {"limit": limit},
                    ).fetchone()
                    assert plan is not None
                    tries.append(_plan_summary(plan[0][0]))
                runs[name] = {"first": tries[0], "warm": tries[1]}
            out[who] = runs
    return out
