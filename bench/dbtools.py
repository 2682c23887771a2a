"""PostgreSQL side of the benchmark: throwaway databases, pgbench and the raw COPY reference."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from coupons import COLUMNS, FARE_COLUMNS
from psycopg import sql

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

_TPS = re.compile(
    r"^tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\)",
    re.MULTILINE,
)
_LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE)
_TRANSACTIONS = re.compile(r"^number of transactions actually processed: (\d+)", re.MULTILINE)


def database_url(admin_url: str, name: str) -> str:
    """The admin URL with its database replaced by `name` (user, host, port and query kept)."""
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def sample_members(url: str, count: int) -> tuple[list[str], dict[str, Any]]:
    """`count` member numbers drawn at random (with replacement) from the database's members, and the
    stats loadgen.create_members would give."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT m.member_number FROM (SELECT 1 + floor(random() * x.top)::bigint AS id "
            "FROM generate_series(1, %s), (SELECT max(id) AS top FROM members) x OFFSET 0) r "
            "JOIN members m ON m.id = r.id",
            (count,),
        ).fetchall()
    seconds = round(time.perf_counter() - started, 3)
    stats = {"sampled": len(rows), "seconds": seconds, "errors": {"count": 0, "by_kind": {}, "samples": []}}
    return [r[0] for r in rows], stats


def server_info(admin_url: str) -> dict[str, str]:
    settings = ("server_version", "shared_buffers", "synchronous_commit", "fsync", "max_connections")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return {name: str(conn.execute(f"SHOW {name}").fetchone()[0]) for name in settings}  # type: ignore[index]


def _pgbench_exe() -> str:
    return shutil.which("pgbench") or "/usr/bin/pgbench"


def _run(cmd: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:-1])} <url> failed with exit code {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


def run_pgbench(url: str, clients: int, duration: int, scale: int) -> dict[str, Any]:
    """TPC-B-like pgbench on `url` (initialised here); returns TPS without connection time."""
    exe = _pgbench_exe()
    started = time.perf_counter()
    _run([exe, "-i", "-q", "-s", str(scale), url], timeout=900)
    init_seconds = time.perf_counter() - started
    threads = max(1, min(2, clients))
    cmd = [exe, "-c", str(clients), "-j", str(threads), "-T", str(duration), "-M", "prepared", url]
    done = _run(cmd, timeout=duration + 300)
    match = _TPS.search(done.stdout)
    if match is None:
        raise RuntimeError(f"could not find the TPS in pgbench's output:\n{done.stdout}\n{done.stderr}")
    latency = _LATENCY.search(done.stdout)
    transactions = _TRANSACTIONS.search(done.stdout)
    return {
        "tps": float(match.group(1)),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "transactions": int(transactions.group(1)) if transactions else None,
        "clients": clients,
        "threads": threads,
        "duration_s": duration,
        "scale": scale,
        "init_seconds": round(init_seconds, 2),
        "command": " ".join(cmd[:-1]) + " <db>",
    }


COPY_TABLE = "bench_copy_coupon"
_COPY_TYPES = {
    "member_number": "text", "ticket_number": "text", "coupon_number": "integer", "marketing_carrier": "text",
    "operating_carrier": "text", "flight_number": "text", "origin": "text", "destination": "text",
    "departure_date": "date", "booking_class": "text", "fare_amount": "numeric(14, 2)", "fare_currency": "text",
}  # fmt: skip


def _copy_ddl(columns: Sequence[str]) -> str:
    """The plain table (no keys, no indexes) with the coupons' columns: today's ten for the reference
    programme's coupons, and the fare's two where a programme's coupons carry one."""
    body = ",\n    ".join(f"{name} {_COPY_TYPES[name]}" for name in columns)
    return f"CREATE TABLE {COPY_TABLE} (\n    {body}\n)"


def copy_reference(url: str, chunks: Sequence[Sequence[tuple[Any, ...]]]) -> dict[str, Any]:
    """COPY the same coupon tuples into a plain table, one COPY and commit per chunk (as per batch)."""
    width = max((len(row) for chunk in chunks for row in chunk), default=len(COLUMNS))
    names = (*COLUMNS, *FARE_COLUMNS)[:width]
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in names)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(COPY_TABLE), columns)
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(COPY_TABLE)))
        conn.execute(_copy_ddl(names))  # type: ignore[arg-type]
        conn.commit()
        rows = 0
        seconds: list[float] = []
        for chunk in chunks:
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy(statement) as copy:
                for row in chunk:
                    copy.write_row(row)
            conn.commit()
            seconds.append(time.perf_counter() - started)
            rows += len(chunk)
        stored = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(COPY_TABLE))
        ).fetchone()
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(COPY_TABLE)))
        conn.commit()
    total = sum(seconds)
    if stored is None or stored[0] != rows:
        raise RuntimeError(f"COPY stored {stored} rows, expected {rows}")
    return {
        "rows": rows,
        "chunks": len(seconds),
        "seconds": round(total, 4),
        "rows_per_s": rows / total if total > 0 else 0.0,
        "chunk_seconds": [round(s, 4) for s in seconds],
    }
