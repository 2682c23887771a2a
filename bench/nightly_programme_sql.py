"""The steps of nightly_programme.py's plan: nightly_data.py's statements written for a programme's profile.
For the reference programme they produce the very rows nightly_data.py does."""

from __future__ import annotations

from nightly_data import CREDITS, FINISH
from nightly_programme import ONE, Profile, inactivity_floor

from miles.domain.programme.model import ExpiryKind

Steps = list[tuple[str, str]]


def _metric_columns(p: Profile) -> list[str]:
    return [f"m{i + 1}" for i in range(len(p.programme.metric_codes))]


def staging(p: Profile) -> Steps:
    columns = _metric_columns(p)
    sums = ", ".join(
        f"sum({p.metric_sql(code)}) AS {col}"
        for code, col in zip(p.programme.metric_codes, columns, strict=True)
    )
    period = p.period_sql()
    lifetime = p.lifetime()
    history = ""
    if lifetime is not None:  # 0.1% of members flew a lot before: almost the first lifetime tier, in 2010
        index, _, at = lifetime
        values = ", ".join(
            f"{at - at // 100} + (m * 7919) % {at // 20}" if i == index else "0" for i in range(len(columns))
        )
        history = f"""
        UNION ALL
        SELECT m, {p.period_sql("DATE '2010-06-01'", "m")}, 2010, {values}
        FROM generate_series(1::bigint, %(members)s) m WHERE m % 1000 = 7"""
    earned = p.earned_sql(lambda i: f"y.m{i + 1}")
    total = f"sum(y.m{lifetime[0] + 1})::numeric" if lifetime else "0"
    if p.rules.rolling:
        held = f"y.period_start >= CAST({p.member_period_sql('y.member_id')} - interval '12 months' AS date)"
    else:
        held = f"y.period_start >= DATE '{p.first_held()}'"
    return [
        (
            "credits (staging)",
            f"""
            CREATE UNLOGGED TABLE bench_credits AS
            SELECT row_number() OVER () AS id, member_id, earned_date, miles FROM (
                SELECT m AS member_id, DATE '{p.first_day}' + floor(random() * {p.days + 1})::int AS earned_date,
                       500 + floor(random() * 4001)::int AS miles
                FROM generate_series(1::bigint, %(members)s) m, LATERAL generate_series(1, {CREDITS}) k
            ) s
            """,
        ),
        (
            "period totals (staging)",
            f"""
            CREATE UNLOGGED TABLE bench_years AS
            SELECT member_id, period_start, extract(year FROM period_start)::int AS year, {", ".join(columns)}
            FROM (SELECT member_id, {period} AS period_start, {sums} FROM bench_credits GROUP BY 1, 2) t
            {history}
            """,
        ),
        (
            "standing (staging)",
            f"""
            CREATE UNLOGGED TABLE bench_members AS
            SELECT y.member_id AS id, {total} AS lifetime,
                   max(({earned}) * 10000 + y.year) FILTER (WHERE {held} AND ({earned}) > 0) AS best
            FROM bench_years y GROUP BY y.member_id
            """,
        ),
    ]


def _members(p: Profile) -> str:
    codes, base = p.codes_sql(), p.programme.ladder.base.code
    lifetime = p.lifetime()
    life_tier = f"'{lifetime[1]}'" if lifetime else f"'{base}'"
    life = f"lifetime >= {lifetime[2]} AND id % 2000 = 7" if lifetime else "false"
    if p.rules.rolling:
        period = p.member_period_sql("m::bigint")
        valid = f"CAST({period} + interval '12 months' AS date) - 1"
    else:
        period, valid = "DATE '2020-01-01'", p.valid_sql("s.best % 10000")
    # nothing reads the last activity but the inactivity policy: the day before the night, as ever
    activity, last_flight = f"DATE '{p.night - ONE}'", ""
    floor = inactivity_floor(p)
    if floor is not None:
        cutoff, days = floor
        activity = (
            f"CASE WHEN f.last >= DATE '{cutoff}' THEN f.last "
            f"ELSE DATE '{cutoff}' + ((m::bigint * 40503) % {days})::int END"
        )
        last_flight = "LEFT JOIN (SELECT member_id, max(earned_date) AS last FROM bench_credits GROUP BY 1) f ON f.member_id = m"
    return f"""
            INSERT INTO members (id, member_number, given_name, family_name, email, tier, tier_valid_until,
                                 lifetime_tier, lifetime_total, last_activity_date, created_at, period_start)
            SELECT m, pg_temp.luhn(lpad((100000000 + m)::text, 9, '0')), 'Member', 'No ' || m,
                   'member' || m || '@example.test',
                   CASE WHEN s.life THEN {life_tier} ELSE ({codes})[coalesce(s.best / 10000, 0) + 1] END,
                   CASE WHEN s.life OR s.best IS NULL THEN NULL ELSE {valid} END,
                   CASE WHEN s.life THEN {life_tier} ELSE '{base}' END,
                   coalesce(s.lifetime, 0), {activity}, TIMESTAMPTZ '2020-01-01 00:00:00+00', {period}
            FROM generate_series(1, %(members)s) m
            LEFT JOIN (SELECT id, lifetime, best, ({life}) AS life FROM bench_members) s ON s.id = m
            {last_flight}
            """


def lanes(p: Profile) -> list[Steps]:
    award, utc = p.award_sql(), "earned_date::timestamp AT TIME ZONE 'UTC'"
    expiry = p.programme.expiry
    if expiry.kind is ExpiryKind.LOTS:
        expires = f"(date_trunc('month', earned_date) + interval '{expiry.months + 1} months' - interval '1 day')::date"
    else:
        expires = "NULL::date"
    columns = _metric_columns(p)
    history = ""
    if p.lifetime() is not None:
        history = f"""
            UNION ALL
            SELECT (SELECT max(id) FROM bench_credits) + row_number() OVER (), member_id, period_start,
                   ARRAY[{", ".join(columns)}]::numeric(16, 2)[], 'migration', make_timestamptz(year, 6, 1, 0, 0, 0, 'UTC')
            FROM bench_years WHERE year = 2010"""
    return [
        [
            ("members", _members(p)),
            (
                "accounts",
                f"""
                -- ids below 1000 are the programme accounts' shards (accrual-flight shard 0 is id 1)
                INSERT INTO accounts (id, code, member_id, balance, allow_negative)
                SELECT m.id + 1000, 'member:' || m.member_number, m.id, coalesce(c.miles, 0), true
                FROM members m LEFT JOIN (SELECT member_id, sum({award}) AS miles FROM bench_credits GROUP BY 1) c
                  ON c.member_id = m.id
                """,
            ),
            (
                "transfers",
                f"""
                INSERT INTO transfers (id, from_account_id, to_account_id, amount, code, event_at, created_at,
                    posted_at)
                SELECT id, 1, member_id + 1000, {award}, 'flight_accrual', {utc}, {utc}, {utc} FROM bench_credits
                """,
            ),
            (
                "status credits",
                f"""
                INSERT INTO status_credits (id, member_id, period_start, metrics, code, event_at)
                SELECT id, member_id, {p.period_sql()}, {p.metrics_sql()}, 'flight_accrual', {utc}
                FROM bench_credits{history}
                """,
            ),
        ],
        [
            (
                "entries",
                f"""
                INSERT INTO entries (id, transfer_id, account_id, amount, created_at)
                SELECT 2 * id - 1, id, 1, -{award}, {utc} FROM bench_credits
                UNION ALL
                SELECT 2 * id, id, member_id + 1000, {award}, {utc} FROM bench_credits
                """,
            ),
            (
                "lots",
                f"""
                INSERT INTO lots (id, member_id, transfer_id, earned_date, expires_date, amount, remaining)
                SELECT id, member_id, id, earned_date, {expires}, {award}, {award} FROM bench_credits
                """,
            ),
            (
                "qualifying totals",
                f"""
                INSERT INTO qualifying_totals (member_id, period_start, metrics)
                SELECT member_id, period_start, ARRAY[{", ".join(columns)}]::numeric(16, 2)[] FROM bench_years
                """,
            ),
        ],
    ]


def finish(p: Profile) -> Steps:
    (name, sql), *_ = FINISH
    sql = sql.replace(
        "-(SELECT coalesce(sum(miles), 0) FROM bench_credits)",
        f"-(SELECT coalesce(sum({p.award_sql()}), 0) FROM bench_credits)",
    )
    return [(name, sql)]
