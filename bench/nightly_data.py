"""Synthetic members for the nightly benchmark, made server-side with generate_series (no rows cross the
wire): members with award accounts, status credits and qualifying totals over three years, one earn lot
per credit with its accrual transfer and two entries, balances equal to the sum of the entries.

The data is what the engine would hold on the morning of 2028-03-01 if every earlier night had run:
credits and lots spread over the three years before it; tiers from the totals by the upgrade rule (valid
to the end of February of year + 2), so the members who qualified in 2026 and not since expire on
2028-02-29 and requalify that night; lots good for 36 months, so that night expires none and the night
of 2028-04-01 expires the lots earned in March 2025 and warns about April's. A few members crossed
1,000,000 lifetime status miles (half of them applied).

Rows are written with the secondary indexes dropped and the foreign-key triggers off
(session_replication_role = replica: the generator's rows are consistent by construction), and the
indexes are built again afterwards, as a bulk load would do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

TABLES = ("members", "accounts", "transfers", "entries", "lots", "status_credits", "qualifying_totals")
FIRST_DAY, DAYS = "2025-03-01", 1095  # credits from 2025-03-01 to 2028-02-29: three years
RANK = "array_position(ARRAY['BLUE','SILVER','GOLD','PLATINUM'], {0}) - 1"
EARNED = (
    "CASE WHEN {m} >= 75000 OR {s} >= 100 THEN 3 WHEN {m} >= 50000 OR {s} >= 60 THEN 2 "
    "WHEN {m} >= 25000 OR {s} >= 30 THEN 1 ELSE 0 END"
)
# credits per member: 70% fly 1-7 times in three years, 20% 12-20, 8% 25-39, 2% 60-100 (about 10 on average)
CREDITS = """CASE WHEN (m * 2654435761) % 100 < 70 THEN 1 + (m * 40503) % 7
     WHEN (m * 2654435761) % 100 < 90 THEN 12 + (m * 40503) % 9
     WHEN (m * 2654435761) % 100 < 98 THEN 25 + (m * 40503) % 15
     ELSE 60 + (m * 40503) % 41 END"""

STAGING: list[tuple[str, str]] = [
    (
        "credits (staging)",
        f"""
        CREATE UNLOGGED TABLE bench_credits AS
        SELECT row_number() OVER () AS id, member_id, earned_date, miles FROM (
            SELECT m AS member_id, DATE '{FIRST_DAY}' + floor(random() * {DAYS + 1})::int AS earned_date,
                   500 + floor(random() * 4001)::int AS miles
            FROM generate_series(1::bigint, %(members)s) m, LATERAL generate_series(1, {CREDITS}) k
        ) s
        """,
    ),
    (
        "yearly totals (staging)",
        """
        CREATE UNLOGGED TABLE bench_years AS
        SELECT member_id, extract(year FROM earned_date)::int AS year, sum(miles)::bigint AS miles,
               count(*)::int AS segments
        FROM bench_credits GROUP BY 1, 2
        UNION ALL  -- 0.1% of members flew a lot before: 990,000 status miles and more, in 2010
        SELECT m, 2010, 990000 + (m * 7919) % 50000, 0 FROM generate_series(1::bigint, %(members)s) m WHERE m % 1000 = 7
        """,
    ),
    (
        "standing (staging)",
        f"""
        CREATE UNLOGGED TABLE bench_members AS
        SELECT y.member_id AS id, sum(y.miles)::bigint AS lifetime,
               max(({EARNED.format(m="y.miles", s="y.segments")}) * 10000 + y.year)
                   FILTER (WHERE y.year >= 2026 AND ({EARNED.format(m="y.miles", s="y.segments")}) > 0) AS best
        FROM bench_years y GROUP BY y.member_id
        """,
    ),
]

# two lanes, loaded side by side on two connections (the foreign-key triggers are off, so order is free)
LANES: list[list[tuple[str, str]]] = [
    [
        (
            "members",
            """
            INSERT INTO members (id, member_number, given_name, family_name, email, tier, tier_valid_until,
                                 lifetime_tier, lifetime_total, last_activity_date, created_at, period_start)
            SELECT m, pg_temp.luhn(lpad((100000000 + m)::text, 9, '0')), 'Member', 'No ' || m,
                   'member' || m || '@example.test',
                   CASE WHEN s.life_gold THEN 'GOLD'
                        ELSE (ARRAY['BLUE','SILVER','GOLD','PLATINUM'])[coalesce(s.best / 10000, 0) + 1] END,
                   CASE WHEN s.life_gold OR s.best IS NULL THEN NULL ELSE make_date(s.best % 10000 + 2, 3, 1) - 1 END,
                   CASE WHEN s.life_gold THEN 'GOLD' ELSE 'BLUE' END,
                   coalesce(s.lifetime, 0), DATE '2028-02-29', TIMESTAMPTZ '2020-01-01 00:00:00+00',
                   DATE '2020-01-01'
            FROM generate_series(1, %(members)s) m
            LEFT JOIN (SELECT id, lifetime, best, (lifetime >= 1000000 AND id % 2000 = 7) AS life_gold
                       FROM bench_members) s ON s.id = m
            """,
        ),
        (
            "accounts",
            """
            -- ids below 1000 are the programme accounts' shards (accrual-flight shard 0 is id 1)
            INSERT INTO accounts (id, code, member_id, balance, allow_negative)
            SELECT m.id + 1000, 'member:' || m.member_number, m.id, coalesce(c.miles, 0), true
            FROM members m LEFT JOIN (SELECT member_id, sum(miles) AS miles FROM bench_credits GROUP BY 1) c
              ON c.member_id = m.id
            """,
        ),
        (
            "transfers",
            """
            INSERT INTO transfers (id, from_account_id, to_account_id, amount, code, event_at, created_at, posted_at)
            SELECT id, 1, member_id + 1000, miles, 'flight_accrual', earned_date::timestamp AT TIME ZONE 'UTC',
                   earned_date::timestamp AT TIME ZONE 'UTC', earned_date::timestamp AT TIME ZONE 'UTC'
            FROM bench_credits
            """,
        ),
        (
            "status credits",
            """
            -- metrics in the reference programme's order: [status_miles, segments, spend]
            INSERT INTO status_credits (id, member_id, period_start, metrics, code, event_at)
            SELECT id, member_id, make_date(extract(year FROM earned_date)::int, 1, 1),
                   ARRAY[miles, 1, 0]::numeric(16, 2)[], 'flight_accrual', earned_date::timestamp AT TIME ZONE 'UTC'
            FROM bench_credits
            UNION ALL
            SELECT (SELECT max(id) FROM bench_credits) + row_number() OVER (), member_id, make_date(year, 1, 1),
                   ARRAY[miles, 0, 0]::numeric(16, 2)[], 'migration', make_timestamptz(year, 6, 1, 0, 0, 0, 'UTC')
            FROM bench_years WHERE year = 2010
            """,
        ),
    ],
    [
        (
            "entries",
            """
            INSERT INTO entries (id, transfer_id, account_id, amount, created_at)
            SELECT 2 * id - 1, id, 1, -miles, earned_date::timestamp AT TIME ZONE 'UTC' FROM bench_credits
            UNION ALL
            SELECT 2 * id, id, member_id + 1000, miles, earned_date::timestamp AT TIME ZONE 'UTC' FROM bench_credits
            """,
        ),
        (
            "lots",
            """
            INSERT INTO lots (id, member_id, transfer_id, earned_date, expires_date, amount, remaining)
            SELECT id, member_id, id, earned_date,
                   (date_trunc('month', earned_date) + interval '37 months' - interval '1 day')::date, miles, miles
            FROM bench_credits
            """,
        ),
        (
            "qualifying totals",
            """
            INSERT INTO qualifying_totals (member_id, period_start, metrics)
            SELECT member_id, make_date(year, 1, 1), ARRAY[miles, segments, 0]::numeric(16, 2)[] FROM bench_years
            """,
        ),
    ],
]

FINISH: list[tuple[str, str]] = [
    (
        "programme balances, sequences",
        """
        UPDATE accounts SET balance = -(SELECT coalesce(sum(miles), 0) FROM bench_credits) WHERE id = 1;
        SELECT setval('members_id_seq', (SELECT max(id) FROM members));
        SELECT setval('accounts_id_seq', (SELECT max(id) FROM accounts));
        SELECT setval('transfers_id_seq', (SELECT max(id) FROM transfers));
        SELECT setval('entries_id_seq', (SELECT max(id) FROM entries));
        SELECT setval('lots_id_seq', (SELECT max(id) FROM lots));
        SELECT setval('status_credits_id_seq', (SELECT max(id) FROM status_credits));
        SELECT setval('member_number_seq', 100000000 + (SELECT max(id) FROM members));
        DROP TABLE bench_credits, bench_years, bench_members
        """,
    ),
]

LUHN = """
CREATE FUNCTION pg_temp.luhn(payload text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT payload || ((10 - sum(CASE WHEN (9 - i) % 2 = 0
                                      THEN (CASE WHEN d * 2 > 9 THEN d * 2 - 9 ELSE d * 2 END)
                                      ELSE d END) % 10) % 10)::text
    FROM (SELECT i, substr(payload, i, 1)::int AS d FROM generate_series(1, 9) i) s
$$
"""


@dataclass(frozen=True)
class Plan:
    """What a generator loads: its tables, the staging steps (one connection), the lanes (loaded side by
    side, one connection each) and the finishing steps; `%(members)s` in a step is the member count."""

    tables: tuple[str, ...]
    staging: list[tuple[str, str]]
    lanes: list[list[tuple[str, str]]]
    finish: list[tuple[str, str]]


NIGHTLY = Plan(TABLES, STAGING, LANES, FINISH)


def _secondary_indexes(
    conn: psycopg.Connection[Any], tables: tuple[str, ...] = TABLES
) -> list[tuple[str, str, str]]:
    """(table, drop statement, create statement) of every index but the primary keys, unique
    constraints included."""
    rows = conn.execute(
        """
        SELECT t.relname, i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.conrelid = t.oid
        WHERE t.relname = ANY(%s) AND NOT x.indisprimary AND t.relnamespace = 'public'::regnamespace
        """,
        (list(tables),),
    ).fetchall()
    out = []
    for table, index, indexdef, constraint, constraintdef in rows:
        if constraint:
            out.append(
                (
                    table,
                    f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"',
                    f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {constraintdef}',
                )
            )
        else:
            out.append((table, f'DROP INDEX "{index}"', indexdef))
    return out


SESSION = (
    "SET session_replication_role = replica",
    "SET synchronous_commit = off",
    "SET work_mem = '256MB'",
    "SET maintenance_work_mem = '512MB'",
    "SET max_parallel_maintenance_workers = 0",  # two lanes use the two cores
    "SELECT setseed(0.42)",
)


def _connect(url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(url, autocommit=True)
    for setting in SESSION:
        conn.execute(setting)
    conn.execute(LUHN)
    return conn


def _run_steps(conn: psycopg.Connection[Any], steps: list[tuple[str, str]], members: int) -> dict[str, float]:
    timings = {}
    for name, sql in steps:
        started = time.perf_counter()
        with conn.transaction():
            for statement in sql.split(";\n"):
                if statement.strip():
                    conn.execute(statement.replace("%(members)s", str(int(members))))  # type: ignore[arg-type]
        timings[name] = round(time.perf_counter() - started, 2)
    return timings


def _in_two_lanes(
    url: str, lanes: list[Callable[[psycopg.Connection[Any]], dict[str, float]]]
) -> dict[str, float]:
    timings: dict[str, float] = {}
    errors: list[BaseException] = []

    def lane(work: Callable[[psycopg.Connection[Any]], dict[str, float]]) -> None:
        try:
            with _connect(url) as conn:
                timings.update(work(conn))
        except BaseException as exc:  # noqa: BLE001 (handed to the caller's thread, which raises it)
            errors.append(exc)

    threads = [threading.Thread(target=lane, args=(work,)) for work in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return timings


def generate(url: str, members: int, log: Callable[[str], None], plan: Plan = NIGHTLY) -> dict[str, float]:
    """Fill the (migrated, empty) database; seconds per step."""
    timings: dict[str, float] = {}
    with _connect(url) as conn:
        indexes = _secondary_indexes(conn, plan.tables)
        for _, drop, _ in indexes:
            conn.execute(drop)
        timings |= _run_steps(conn, plan.staging, members)
    started = time.perf_counter()
    timings |= _in_two_lanes(url, [lambda c, lane=lane: _run_steps(c, lane, members) for lane in plan.lanes])
    timings["load (two lanes, wall)"] = round(time.perf_counter() - started, 2)
    with _connect(url) as conn:
        timings |= _run_steps(conn, plan.finish, members)
    started = time.perf_counter()
    creates = [create for _, _, create in indexes]

    def build(conn: psycopg.Connection[Any], statements: list[str]) -> dict[str, float]:
        for statement in statements:
            conn.execute(statement)
        return {}

    _in_two_lanes(url, [lambda c: build(c, creates[0::2]), lambda c: build(c, creates[1::2])])
    timings[f"indexes ({len(creates)}, two lanes)"] = round(time.perf_counter() - started, 2)
    for name, seconds in timings.items():
        log(f"  {name}: {seconds:.1f} s")
    return timings


def vacuum(url: str, tables: tuple[str, ...] = TABLES) -> float:
    """VACUUM ANALYZE the loaded tables (statistics and visibility maps, as after any bulk load)."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for table in tables:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return round(time.perf_counter() - started, 2)


def counts(url: str, tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}  # type: ignore[index]
