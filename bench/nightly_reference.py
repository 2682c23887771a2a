"""The nightly benchmark's reference: one hand-written set-based statement computing every member's new tier
on the requalification night (requalification with the programme's soft landing, the lifetime floor), and
the same as one UPDATE of the members (rolled back).

It is written from the programme's rules (tier codes, thresholds, metric order, soft landing, lifetime
tiers, period kind) by this module alone, not by the engine's SQL builder, so it stays an independent
measure of the least work the night has to do. For the reference programme it is the statement
bench/nightly.py has always timed. Like that statement it leaves out what the night also does (upgrades
left unapplied, the tier history, expiry).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from typing import Any

import psycopg
from nightly_programme import Profile


def _rank(p: Profile, column: str) -> str:
    return f"array_position({p.codes_sql()}, {column}) - 1"


def _lifetime(p: Profile) -> str:
    rules = p.rules.lifetime
    if p.rules.lifetime_metric is None or not rules:
        return "0"
    ladder = p.programme.ladder
    cases = " ".join(
        f"WHEN m.lifetime_total >= {r.at} THEN {ladder.rank(r.tier)}"
        for r in sorted(rules, key=lambda r: -r.at)
    )
    return f"CASE {cases} ELSE 0 END"


def _soft(p: Profile) -> str:
    k = p.rules.soft_landing
    return f"greatest(earned, tier - {k})" if k > 0 else "earned"


def _new_tier(p: Profile) -> str:
    earned = p.earned_sql(lambda i: f"q.metrics[{i + 1}]")
    if p.rules.rolling:
        end = "CAST(m.period_start + interval '12 months' AS date)"
        return f"""
    SELECT m.id, {_rank(p, "m.tier")} AS tier, m.tier_valid_until AS valid,
           {end} AS next_start, {end} <= %(night)s AS ended,
           greatest({_rank(p, "m.lifetime_tier")}, {_lifetime(p)}) AS life,
           {earned} AS earned
    FROM members m LEFT JOIN qualifying_totals q ON q.member_id = m.id AND q.period_start = m.period_start
"""
    return f"""
    SELECT m.id, {_rank(p, "m.tier")} AS tier, m.tier_valid_until AS valid,
           greatest({_rank(p, "m.lifetime_tier")}, {_lifetime(p)}) AS life,
           {earned} AS earned
    FROM members m LEFT JOIN qualifying_totals q ON q.member_id = m.id AND q.period_start = %(last_start)s
"""


def _expired(p: Profile) -> str:
    return "ended" if p.rules.rolling else "valid < %(night)s"


def select_sql(p: Profile) -> str:
    """Every member's new tier, counted by tier."""
    return f"""
    SELECT new_tier, count(*) FROM (
        SELECT greatest(life, CASE WHEN {_expired(p)} THEN {_soft(p)} ELSE tier END) AS new_tier
        FROM ({_new_tier(p)}) t
    ) s GROUP BY new_tier ORDER BY new_tier
"""


def update_sql(p: Profile) -> str:
    """The same, written to the members."""
    codes = p.codes_sql()
    new_tier = f"greatest(life, CASE WHEN {_expired(p)} THEN {_soft(p)} ELSE tier END)"
    if p.rules.rolling:
        return f"""
    UPDATE members m SET tier = ({codes})[n.new_tier + 1],
           tier_valid_until = CASE WHEN n.new_tier = 0 OR n.new_tier = n.life THEN NULL
                                   WHEN n.ended THEN CAST(n.next_start + interval '12 months' AS date) - 1
                                   ELSE m.tier_valid_until END,
           period_start = CASE WHEN n.ended THEN n.next_start ELSE m.period_start END,
           lifetime_tier = ({codes})[n.life + 1]
    FROM (SELECT id, life, ended, next_start, {new_tier} AS new_tier, tier FROM ({_new_tier(p)}) t) n
    WHERE m.id = n.id AND (n.ended OR n.new_tier <> n.tier)
"""
    return f"""
    UPDATE members m SET tier = ({codes})[n.new_tier + 1],
           tier_valid_until = CASE WHEN n.new_tier = 0 OR n.new_tier = n.life THEN NULL ELSE %(valid)s END,
           lifetime_tier = ({codes})[n.life + 1]
    FROM (SELECT id, life, {new_tier} AS new_tier, tier, valid
          FROM ({_new_tier(p)}) t) n
    WHERE m.id = n.id AND (n.valid < %(night)s OR n.new_tier <> n.tier)
"""


def params(p: Profile) -> dict[str, dt.date]:
    out = {"night": p.night}
    if not p.rules.rolling:
        last = p.rules.last_complete(p.night)
        out |= {"last_start": last.start, "valid": p.rules.valid_until(last)}
    return out


def reference(url: str, runs: int, p: Profile) -> dict[str, Any]:
    """The statement, `runs` times with the server's JIT setting and `runs` times without JIT (the faster
    median is the reference); then once as an UPDATE, rolled back."""
    values = params(p)
    timings: dict[str, list[float]] = {"server default": [], "jit off": []}
    tiers: list[Any] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    with psycopg.connect(url) as conn:
        for setting, times in timings.items():
            if setting == "jit off":
                conn.execute("SET jit = off")
            for _ in range(runs):
                started = time.perf_counter()
                tiers = conn.execute(select_sql(p), values).fetchall()  # type: ignore[arg-type]
                times.append(round(time.perf_counter() - started, 3))
        conn.rollback()
        started = time.perf_counter()
        updated = conn.execute(update_sql(p), values).rowcount  # type: ignore[arg-type]
        update_seconds = time.perf_counter() - started
        conn.rollback()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM members")  # the rolled-back update's dead rows, before the real night
        # the night writes its pages' first images to the WAL, as a real night does
        conn.execute("CHECKPOINT")
    medians = {k: statistics.median(v) for k, v in timings.items()}
    codes = p.programme.ladder.codes
    return {
        "select_seconds": timings,
        "select_median_seconds": round(min(medians.values()), 3),
        "new_tiers": {codes[t]: n for t, n in tiers},
        "update_seconds": round(update_seconds, 3),
        "update_rows": updated,
    }
