"""The scale benchmark's data set: nightly_data.py's generator (server-side generate_series, two lanes,
indexes built after the load, foreign-key triggers off) with a realistic history for a large programme
and the rows the real accrual path writes for every flown coupon.

History (2025-03-01 to 2028-02-29, as nightly_data.py): most members are dormant. Per member, by a hash
of its id, as BANDS says: 60% no flight in those three years, 27% 1-2 flights, 9.5% 3-5, 2.7% 6-12,
0.6% 13-30, 0.2% 40-100: 1.3 flights per member on average, about the most that fits 10,000,000 members
in 25 GB at the real ~1,160 bytes per coupon (2.5 per member would take ~36 GB; see bench/README.md). A
member's flights are spread over the three years in order, and the ids are chronological across members
(as the sequences hand them out), so one member's rows lie scattered over the tables as in production,
not packed side by side.

Per flown coupon, as src/miles/adapters/db/accrual_writes.py writes it: one `accruals` row (ticket
8000000000000 + id, clear of bench/run.py's tickets; SHA-256 request digest, route, class, miles, balance
after), one transfer from the member's shard of the programme account `accrual-flight` (shard = member
id % 64, as LedgerRepository picks it) with its `accrual_id`, two entries, one earn lot, one status
credit (code `flight`, with its `accrual_id`), and the qualifying totals of each calendar year. Balances are the sums of
the entries (programme shards included); lots' remaining miles are the members' balances. `check()`
verifies that and the ledger's invariants.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import nightly_data
import psycopg
from coupons import AIRPORTS
from psycopg import sql

TABLES = (*nightly_data.TABLES, "accruals")
FIRST_DAY, DAYS = nightly_data.FIRST_DAY, nightly_data.DAYS

# (share of members per mille, fewest flights, most flights) over the three years
BANDS: tuple[tuple[int, int, int], ...] = (
    (600, 0, 0), (270, 1, 2), (95, 3, 5), (27, 6, 12), (6, 13, 30), (2, 40, 100)
)  # fmt: skip
MEAN_FLIGHTS = sum(share / 1000 * (low + high) / 2 for share, low, high in BANDS)

# Bytes on disk (heap + TOAST + indexes, pg_total_relation_size) per flown coupon and per member, as this
# generator lays them out (indexes built after the load, so packed; VACUUM ANALYZE done). Measured with
# `bench/scale.py --members 50000` on 2026-12-03 (PostgreSQL 15, 8 kB pages): 1,160.5 B per coupon
# (entries 331.6, accruals 307.5, lots 202.4, transfers 178.2, status credits 140.7) and 673.4 B per
# member (members 373.6, accounts 216.9, qualifying totals 82.9). 20,000 members gave 1,150.6 and 734.0
# (with a profile of more flyers, so more qualifying totals per member).
BYTES_PER_COUPON = 1_160  # accruals + transfers + entries + lots + status credits
BYTES_PER_MEMBER = 675  # members + accounts + qualifying totals
# during generation only: the staging tables (unlogged, ~60 B per coupon, dropped after the load) and the
# sorts' temporary files; and WAL beyond max_wal_size while checkpoints catch up
STAGING_BYTES_PER_COUPON = 150
WAL_HEADROOM = 3 * 10**9
LIMIT_BYTES = 25 * 10**9  # the data set must stay under this
FREE_MARGIN = 10 * 10**9  # and leave this much free on PostgreSQL's disk


def _hashed(expr: str) -> str:
    return f"(hashint8({expr})::bigint & 2147483647)"


def _flights_sql() -> str:
    cases, upper = [], 0
    for share, low, high in BANDS[:-1]:
        upper += share
        cases.append(f"WHEN g.h < {upper} THEN {low} + g.r % {high - low + 1}")
    _, low, high = BANDS[-1]
    return "CASE " + " ".join(cases) + f" ELSE {low} + g.r % {high - low + 1} END"


_AIRPORTS = "ARRAY[" + ", ".join(f"'{a}'" for a in AIRPORTS) + "]"
_CLASSES = "YBHKMLVSNQWEJCDIFA"  # the bookable classes of coupons.py, without the zero-earning O and G

STAGING: list[tuple[str, str]] = [
    (
        "coupons (staging, chronological ids)",
        f"""
        CREATE UNLOGGED TABLE bench_credits AS
        SELECT row_number() OVER (ORDER BY c.earned_date, c.miles, c.member_id) AS id, c.member_id,
               c.earned_date, c.miles, (s.shards)[c.member_id % s.n + 1] AS source
        FROM (
            SELECT p.m AS member_id,
                   DATE '{FIRST_DAY}' + least({DAYS}, floor((k - 1 + random()) * {DAYS + 1} / p.n)::int)
                       AS earned_date,
                   500 + floor(random() * 4001)::int AS miles
            FROM (SELECT g.m, {_flights_sql()} AS n
                  FROM (SELECT m, {_hashed("m")} % 1000 AS h, {_hashed("-m")} AS r
                        FROM generate_series(1::bigint, %(members)s) m) g) p,
                 LATERAL generate_series(1, p.n) k
        ) c, (SELECT array_agg(id ORDER BY shard) AS shards, count(*)::int AS n FROM accounts
              WHERE code = 'accrual-flight' AND member_id IS NULL) s
        """,
    ),
    *nightly_data.STAGING[1:],  # yearly totals and standing, from bench_credits
]

_MEMBERS, _ACCOUNTS = nightly_data.LANES[0][0], nightly_data.LANES[0][1]
_LOTS, _TOTALS = nightly_data.LANES[1][1], nightly_data.LANES[1][2]
_UTC = "earned_date::timestamp AT TIME ZONE 'UTC'"

# two lanes of about equal work at 10,000,000 members (per-row costs from the 20,000 and 50,000 runs:
# members ~23 us a row, accruals ~10, status credits ~8, transfers and entries ~5 a coupon, lots ~3)
LANES: list[list[tuple[str, str]]] = [
    [
        _MEMBERS,
        _ACCOUNTS,
        (
            "transfers",
            f"""
            INSERT INTO transfers (id, from_account_id, to_account_id, amount, code, event_at, created_at,
                                   accrual_id)
            SELECT id, source, member_id + 1000, miles, 'flight_accrual', {_UTC}, {_UTC}, id FROM bench_credits
            """,
        ),
        _TOTALS,
    ],
    [
        (
            "accruals",
            f"""
            INSERT INTO accruals (id, member_id, ticket_number, coupon_number, request_digest, channel,
                                  marketing_carrier, operating_carrier, flight_number, origin, destination,
                                  departure_date, booking_class, fare_amount, fare_currency, distance_miles,
                                  base_miles, tier_bonus_miles, promotion_miles, award_miles, credits,
                                  period_start, fare_value, tier_before, tier_after, balance_after, created_at)
            SELECT id, member_id, (8000000000000 + id)::text, 1, encode(sha256(id::text::bytea), 'hex'),
                   CASE WHEN id % 10 < 7 THEN 'batch' ELSE 'api' END, 'YY', 'YY', (1 + id % 9999)::text,
                   ({_AIRPORTS})[1 + id % 40], ({_AIRPORTS})[1 + (id + 1 + (id / 40) % 39) % 40],
                   earned_date, substr('{_CLASSES}', 1 + (id % {len(_CLASSES)})::int, 1), NULL, NULL,
                   miles, miles, 0, 0, miles, ARRAY[miles, 1, 0]::numeric(16, 2)[],
                   make_date(extract(year FROM earned_date)::int, 1, 1), 0, 'BLUE', 'BLUE',
                   sum(miles) OVER (PARTITION BY member_id ORDER BY id), {_UTC} + interval '2 days'
            FROM bench_credits
            """,
        ),
        (
            "entries",
            f"""
            INSERT INTO entries (id, transfer_id, account_id, amount, created_at)
            SELECT 2 * id - 1, id, source, -miles, {_UTC} FROM bench_credits
            UNION ALL
            SELECT 2 * id, id, member_id + 1000, miles, {_UTC} FROM bench_credits
            """,
        ),
        _LOTS,
        (
            "status credits",
            f"""
            -- metrics in the reference programme's order: [status_miles, segments, spend]
            INSERT INTO status_credits (id, member_id, period_start, metrics, code, accrual_id, event_at,
                                        created_at)
            SELECT id, member_id, make_date(extract(year FROM earned_date)::int, 1, 1),
                   ARRAY[miles, 1, 0]::numeric(16, 2)[], 'flight', id, {_UTC}, {_UTC}
            FROM bench_credits
            UNION ALL
            SELECT (SELECT max(id) FROM bench_credits) + row_number() OVER (), member_id, make_date(year, 1, 1),
                   ARRAY[miles, 0, 0]::numeric(16, 2)[], 'migration', NULL, make_timestamptz(year, 6, 1, 0, 0, 0, 'UTC'),
                   make_timestamptz(year, 6, 1, 0, 0, 0, 'UTC')
            FROM bench_years WHERE year = 2010
            """,
        ),
    ],
]

FINISH: list[tuple[str, str]] = [
    (
        "programme balances, sequences",
        """
        UPDATE accounts a SET balance = -s.miles
        FROM (SELECT source, sum(miles) AS miles FROM bench_credits GROUP BY source) s WHERE a.id = s.source;
        SELECT setval('members_id_seq', (SELECT max(id) FROM members));
        SELECT setval('accounts_id_seq', (SELECT max(id) FROM accounts));
        SELECT setval('transfers_id_seq', (SELECT greatest(max(id), 1) FROM transfers));
        SELECT setval('entries_id_seq', (SELECT greatest(max(id), 1) FROM entries));
        SELECT setval('lots_id_seq', (SELECT greatest(max(id), 1) FROM lots));
        SELECT setval('status_credits_id_seq', (SELECT greatest(max(id), 1) FROM status_credits));
        SELECT setval('accruals_id_seq', (SELECT greatest(max(id), 1) FROM accruals));
        SELECT setval('member_number_seq', 100000000 + (SELECT max(id) FROM members));
        DROP TABLE bench_credits, bench_years, bench_members
        """,
    ),
]

PLAN = nightly_data.Plan(TABLES, STAGING, LANES, FINISH)

# Each must count 0 rows: the ledger's invariants and the data's own consistency.
CHECKS = {
    "entries sum to zero": "SELECT count(*) FROM (SELECT 1 FROM accounts HAVING sum(balance) <> 0) s",
    "balances = sums of entries": """
        SELECT count(*) FROM accounts a
        LEFT JOIN (SELECT account_id, sum(amount) AS miles FROM entries GROUP BY account_id) e
          ON e.account_id = a.id
        WHERE a.balance <> coalesce(e.miles, 0)""",
    "each transfer's entries balance": """
        SELECT count(*) FROM transfers t JOIN entries d ON d.transfer_id = t.id AND d.amount < 0
        JOIN entries c ON c.transfer_id = t.id AND c.amount > 0
        WHERE d.amount <> -t.amount OR c.amount <> t.amount OR d.account_id <> t.from_account_id
           OR c.account_id <> t.to_account_id""",
    "members' open lots = balances": """
        SELECT count(*) FROM accounts a
        LEFT JOIN (SELECT member_id, sum(remaining) AS miles FROM lots GROUP BY member_id) l
          ON l.member_id = a.member_id
        WHERE a.member_id IS NOT NULL AND a.balance <> coalesce(l.miles, 0)""",
    "qualifying totals = status credits": """
        SELECT count(*) FROM qualifying_totals q
        FULL JOIN (SELECT member_id, period_start, miles_sum_metrics(metrics) AS metrics
                   FROM status_credits GROUP BY member_id, period_start) c USING (member_id, period_start)
        WHERE q.metrics IS DISTINCT FROM c.metrics""",
    "one accrual per transfer, lot, status credit": """
        SELECT (SELECT count(*) FROM accruals) * 3
               - (SELECT count(*) FROM transfers WHERE accrual_id IS NOT NULL)
               - (SELECT count(*) FROM lots)
               - (SELECT count(*) FROM status_credits WHERE accrual_id IS NOT NULL)""",
}


def check(url: str) -> dict[str, Any]:
    """Run CHECKS; the rows each found (all 0 when the data is consistent) and the seconds it took."""
    started = time.perf_counter()
    found: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET work_mem = '256MB'")
        for name, query in CHECKS.items():
            row = conn.execute(query).fetchone()
            found[name] = int(row[0]) if row else -1
    return {"violations": found, "seconds": round(time.perf_counter() - started, 1)}


def estimate(members: int) -> dict[str, Any]:
    """The data set's size from the profile and the constants above; the peak during generation."""
    coupons = round(members * MEAN_FLIGHTS)
    dataset = coupons * BYTES_PER_COUPON + members * BYTES_PER_MEMBER
    return {
        "members": members,
        "coupons": coupons,
        "mean_flights_per_member": round(MEAN_FLIGHTS, 3),
        "dataset_bytes": dataset,
        "peak_bytes": dataset + coupons * STAGING_BYTES_PER_COUPON + WAL_HEADROOM,
        "bytes_per_coupon": BYTES_PER_COUPON,
        "bytes_per_member": BYTES_PER_MEMBER,
    }


def free_space(url: str) -> dict[str, Any]:
    """PostgreSQL's data directory and the free bytes on its file system: statvfs when it is on this
    machine, else `df` run by the server itself."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
        assert row is not None
        directory = str(row[0])
        if os.path.isdir(directory):
            return {
                "data_directory": directory,
                "free_bytes": shutil.disk_usage(directory).free,
                "via": "statvfs",
            }
        return {
            "data_directory": directory,
            "free_bytes": df_on_server(conn, directory),
            "via": "df on the server",
        }


def df_on_server(conn: psycopg.Connection[Any], directory: str) -> int:
    """Free bytes under `directory` on the database server's machine (COPY FROM PROGRAM: superuser)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS bench_df (line text)")
    conn.execute("TRUNCATE bench_df")
    quoted = "'" + directory.replace("'", "'\\''") + "'"  # for the shell
    conn.execute(sql.SQL("COPY bench_df FROM PROGRAM {}").format(sql.Literal(f"df -Pk {quoted}")))
    lines = [r[0] for r in conn.execute("SELECT line FROM bench_df").fetchall()]
    return int(lines[-1].split()[3]) * 1024


def refusal(estimated: dict[str, Any], space: dict[str, Any]) -> str | None:
    """Why the run must not start, or None: the data set over min(25 GB, free - 10 GB), or its peak while
    generating leaving less than 10 GB free."""
    free = space["free_bytes"]
    limit = min(LIMIT_BYTES, free - FREE_MARGIN)
    if estimated["dataset_bytes"] > limit:
        return (
            f"the data set would take {gb(estimated['dataset_bytes'])}, over min(25 GB, free {gb(free)} - 10 GB)"
            f" = {gb(limit)}"
        )
    if estimated["peak_bytes"] > free - FREE_MARGIN:
        return (
            f"generating it takes up to {gb(estimated['peak_bytes'])}, which would leave less than 10 GB of the "
            f"{gb(free)} free"
        )
    return None


def gb(n: float) -> str:
    """Bytes in GB of 10^9 bytes (pg_size_pretty's "GB" are 2^30 bytes, 7% more)."""
    return f"{n / 10**9:.2f} GB"
