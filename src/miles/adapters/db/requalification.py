"""The nightly requalification of a chunk of members, set-based: one statement locks the members that
have something to change, one statement changes them all and records their tier changes.

It is miles.domain.programme.requalification.nightly_standing written for many members at once, for
any programme: tiers are ranked by their position in the programme's ladder, a period's totals are an
array in the programme's metric order, and the tier they reach is read from its stored column while that is
the programme's (miles.adapters.db.tier_reached), else computed from the array; the tests hold the two to
the same answers, member by member, both ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

from miles.adapters.db.tier_reached import TierReachedRepository
from miles.adapters.db.tier_rules import TierRules, tier_name_sql, tier_rank_sql
from miles.domain.calendar import add_months
from miles.domain.programme.model import Programme


def _lifetime_candidate(rules: TierRules) -> str:
    """SQL condition on a member row: a lifetime tier not applied, or not yet the floor."""
    life = tier_rank_sql("lifetime_tier")
    return f"""(lifetime_total >= :life_min AND {rules.lifetime("lifetime_total")} > {life})
           OR (lifetime_tier <> :base_tier AND {life} >= {tier_rank_sql("tier")}
               AND (tier <> lifetime_tier OR tier_valid_until IS NOT NULL))"""


def _earned(rules: TierRules, alias: str, stored: bool) -> str:
    """SQL: the tier rank a period's row earns: its stored tier reached, or computed from its metrics."""
    return f"{alias}tier_reached" if stored else rules.earned(alias + "metrics")


def _candidates_sql(rules: TierRules, stored: bool) -> str:
    """Every member whose standing the run may change: a tier expired before the run date (fixed
    periods) or a rolling period that ended, a lifetime tier not applied (or not yet the floor), a
    tier earned in a period still valid that is higher (or valid longer) than the one held. Read once
    per run, set-based, when it is planned: one pass over the members, and one over the periods'
    totals that reach a tier, joined to their members."""
    earned = _earned(rules, "q.", stored)
    reaches = "q.tier_reached > 0" if stored else rules.reaches_a_tier("q.metrics")
    held = tier_rank_sql("m.tier")
    if rules.programme.qualification.rolling:
        return f"""
        SELECT id AS member_id FROM members WHERE period_start <= :last_ended_start OR {_lifetime_candidate(rules)}
        UNION
        SELECT q.member_id FROM qualifying_totals q JOIN members m ON m.id = q.member_id AND q.period_start = m.period_start
        WHERE {reaches} AND {earned} > {held}
        """
    return f"""
        SELECT id AS member_id FROM members WHERE tier_valid_until < :d OR {_lifetime_candidate(rules)}
        UNION
        SELECT q.member_id FROM qualifying_totals q JOIN members m ON m.id = q.member_id
        JOIN unnest(CAST(:up_starts AS date[]), CAST(:up_valid AS date[])) AS u(start, valid) ON u.start = q.period_start
        WHERE q.period_start = ANY(CAST(:up_starts AS date[])) AND {reaches}
          AND ({earned} > {held} OR ({earned} = {held} AND m.tier_valid_until < u.valid))
    """


_CURRENT = """
        SELECT m.id, m.tier AS old_tier, m.tier_valid_until AS old_valid, m.lifetime_tier AS old_lifetime,
               m.period_start AS old_period, {rank_tier} AS r0, {rank_life} AS life0,
               greatest({rank_life}, {lifetime}) AS life, m.lifetime_total
"""


# a period's start as days since the epoch, below _DAYS (the year 27,000): packed under its tier's rank
_EPOCH = "DATE '0001-01-01'"
_DAYS = 10_000_000


def _fixed_steps(rules: TierRules, stored: bool) -> str:
    """Requalification of a tier that expired before the run date, then an upgrade left unapplied. The
    periods' totals are read by the key's range of starts as well as by the starts themselves, so that
    the index finds only the periods that count."""
    earned = _earned(rules, "", stored)
    current = _CURRENT.format(
        rank_tier=tier_rank_sql("m.tier"),
        rank_life=tier_rank_sql("m.lifetime_tier"),
        lifetime=rules.lifetime("m.lifetime_total"),
    )
    return f"""
    q AS (
        SELECT member_id,
               max(earned) FILTER (WHERE period_start = :last_start) AS earned_last,
               -- the best upgrade period: the highest tier, then the latest start, as one bigint
               max(CAST(earned AS bigint) * {_DAYS} + (period_start - {_EPOCH}))
                   FILTER (WHERE period_start = ANY(CAST(:up_starts AS date[])) AND earned > 0) AS best
        FROM (SELECT member_id, period_start, {earned} AS earned FROM qualifying_totals
              WHERE member_id = ANY(CAST(:ids AS bigint[])) AND period_start = ANY(CAST(:starts AS date[]))
                AND period_start BETWEEN :starts_from AND :starts_to) x
        GROUP BY member_id
    ), cur AS MATERIALIZED (
        {current}, coalesce(q.earned_last, 0) AS earned_last, q.best / {_DAYS} AS up_rank,
               -- the validity of the best period's start (a subscript: no sub-plan run for each member)
               (CAST(:up_valid AS date[]))[array_position(CAST(:up_starts AS date[]),
                                                          {_EPOCH} + CAST(q.best % {_DAYS} AS int))] AS up_valid
        FROM members m LEFT JOIN q ON q.member_id = m.id
        WHERE m.id = ANY(CAST(:ids AS bigint[]))
    ), s1 AS MATERIALIZED (
        SELECT cur.*, (old_valid IS NOT NULL AND old_valid < :d) AS requalified,
               (old_valid IS NOT NULL AND old_valid < :d) AS expired, old_period AS p1,
               CASE WHEN old_valid < :d THEN greatest(earned_last, {_soft("r0")}, life) ELSE r0 END AS r1,
               CASE WHEN old_valid < :d THEN CAST(:requal_valid AS date) ELSE old_valid END AS v1
        FROM cur
    ), upgraded AS MATERIALIZED (
        SELECT s1.*, (up_rank IS NOT NULL AND (up_rank > r1 OR (up_rank = r1 AND v1 IS NOT NULL AND up_valid > v1))) AS up
        FROM s1
    ), s2 AS MATERIALIZED (
        SELECT upgraded.*, CASE WHEN up THEN up_rank ELSE r1 END AS r2,
               CASE WHEN up THEN up_valid ELSE v1 END AS v2, p1 AS p2
        FROM upgraded
    )"""


def _rolling_steps(rules: TierRules, stored: bool) -> str:
    """A rolling period that ended requalifies on its own totals and the next period starts the day
    after; else a tier above the one held, earned in the current period, starts today with a new period."""
    earned = _earned(rules, "q.", stored)
    current = _CURRENT.format(
        rank_tier=tier_rank_sql("m.tier"),
        rank_life=tier_rank_sql("m.lifetime_tier"),
        lifetime=rules.lifetime("m.lifetime_total"),
    )
    end = "CAST(old_period + interval '12 months' AS date)"
    return f"""
    cur AS MATERIALIZED (
        {current}, coalesce({earned}, 0) AS earned_cur
        FROM members m LEFT JOIN qualifying_totals q ON q.member_id = m.id AND q.period_start = m.period_start
        WHERE m.id = ANY(CAST(:ids AS bigint[]))
    ), s1 AS MATERIALIZED (
        SELECT cur.*, {end} <= :d AS ended, {end} <= :d AS expired, ({end} <= :d AND r0 > 0) AS requalified,
               CASE WHEN {end} <= :d THEN greatest(earned_cur, {_soft("r0")}, life) ELSE r0 END AS r1,
               CASE WHEN {end} <= :d THEN {end} ELSE old_period END AS p1
        FROM cur
    ), s2 AS MATERIALIZED (
        SELECT s1.*, NOT ended AND earned_cur > r0 AS up, earned_cur AS earned_last,
               CASE WHEN NOT ended AND earned_cur > r0 THEN earned_cur ELSE r1 END AS r2,
               CASE WHEN NOT ended AND earned_cur > r0 THEN CAST(:d AS date) ELSE p1 END AS p2
        FROM s1
    ), s2v AS MATERIALIZED (
        SELECT s2.*, CASE WHEN ended OR up THEN CAST(p2 + interval '12 months' AS date) - 1 ELSE old_valid END AS v2
        FROM s2
    )"""


def _soft(rank: str) -> str:
    return f"CASE WHEN :soft > 0 THEN greatest({rank} - :soft, 0) ELSE 0 END"


def _requalify_sql(rules: TierRules, stored: bool) -> str:
    rolling = rules.programme.qualification.rolling
    steps = _rolling_steps(rules, stored) if rolling else _fixed_steps(rules, stored)
    last = "s2v" if rolling else "s2"
    if rolling:
        earned_in = "'in the period that ended'"
    elif rules.programme.qualification.start_month == 1:
        earned_in = "'in ' || CAST(extract(year FROM CAST(:last_start AS date)) AS int)"
    else:
        earned_in = "'in the year from ' || CAST(:last_start AS text)"
    return f"""
    WITH {steps}, s3 AS MATERIALIZED (                  -- the lifetime tier is a floor, for life
        SELECT {last}.*,
               (life > 0 AND life >= r2 AND (r2 <> life OR v2 IS NOT NULL)) AS floor,
               CASE WHEN life > 0 AND life >= r2 THEN life ELSE r2 END AS r3
        FROM {last}
    ), fin AS MATERIALIZED (
        SELECT s3.*, CASE WHEN floor OR r3 = 0 THEN NULL ELSE v2 END AS v3,
               CASE WHEN floor THEN 'lifetime'
                    WHEN up THEN 'upgrade'
                    WHEN expired AND r1 = {_soft("r0")} AND {_soft("r0")} > earned_last THEN 'soft_landing'
                    WHEN expired THEN 'requalified'
                    ELSE 'lifetime' END AS reason
        FROM s3
    ), changed AS (
        SELECT *, (r3 <> r0 OR v3 IS DISTINCT FROM old_valid OR life <> life0) AS tier_changed FROM fin
        WHERE r3 <> r0 OR v3 IS DISTINCT FROM old_valid OR life <> life0 OR p2 <> old_period
    ), upd AS (
        UPDATE members m SET tier = {tier_name_sql("c.r3")}, tier_valid_until = c.v3,
               lifetime_tier = {tier_name_sql("c.life")}, period_start = c.p2
        FROM changed c WHERE m.id = c.id
        RETURNING m.id
    ), history AS (
        INSERT INTO tier_changes (member_id, from_tier, to_tier, valid_until, reason, run_id)
        SELECT id, old_tier, {tier_name_sql("r3")}, v3,
               CASE reason
                 WHEN 'lifetime' THEN 'lifetime: ' || {tier_name_sql("life")} || ' for life at '
                      || CAST(lifetime_total AS text) || ' lifetime credits'
                 WHEN 'upgrade' THEN 'upgrade: ' || {tier_name_sql("r2")} || ' earned, not applied at accrual'
                 WHEN 'soft_landing' THEN 'soft landing: tier expired, earned ' || {tier_name_sql("earned_last")}
                      || ' ' || {earned_in} || ', down by the soft landing'
                 ELSE 'requalified: tier expired, earned ' || {tier_name_sql("earned_last")} || ' ' || {earned_in}
               END || ' (nightly run ' || CAST(:d AS text) || ')',
               :run
        FROM changed WHERE tier_changed ORDER BY id
    )
    SELECT count(*) FILTER (WHERE requalified) AS requalified,
           count(*) FILTER (WHERE requalified AND r3 = r0) AS kept,
           count(*) FILTER (WHERE r3 > r0) AS upgraded,
           count(*) FILTER (WHERE r3 < r0) AS downgraded,
           count(*) FILTER (WHERE life > life0) AS lifetime_grants,
           (SELECT count(*) FROM upd) AS written
    FROM changed
    """


def _last_ended_start(run_date: date) -> date:
    """The latest period start whose rolling 12 months have ended by the run date (start + 12 months
    <= run date, months clamped to their last day as in SQL): a bound the member scan compares with."""
    start = add_months(run_date, -12)
    while add_months(start + timedelta(days=1), 12) <= run_date:
        start += timedelta(days=1)
    return start


@dataclass(frozen=True)
class RequalificationCounts:
    requalified: int
    kept: int
    upgraded: int
    downgraded: int
    lifetime_grants: int


class RequalificationRepository:
    def __init__(self, connection: Connection, programme: Programme, run_date: date) -> None:
        self.connection = connection
        self.rules = TierRules(programme)
        self.run_date = run_date
        # the periods' stored tiers reached, when they are this programme's until this transaction ends
        self.reads_stored = TierReachedRepository(connection).readable_for(programme)
        q = programme.qualification
        self.params: dict[str, Any] = self.rules.params() | {
            "d": run_date,
            "soft": q.soft_landing,
            "life_min": self.rules.lifetime_minimum(),
            "base_tier": programme.ladder.codes[0],
        }
        if q.rolling:
            self.params["last_ended_start"] = _last_ended_start(run_date)
        if not q.rolling:
            periods = q.upgrade_periods(run_date)
            last = q.last_complete(run_date)
            starts = sorted({last.start, *(p.start for p in periods)})
            self.params |= {
                "up_starts": [p.start for p in periods],
                "up_valid": [q.valid_until(p) for p in periods],
                "last_start": last.start,
                "starts": starts,
                "starts_from": starts[0],
                "starts_to": starts[-1],
                "requal_valid": q.valid_until(last),
            }

    def candidates_sql(self) -> str:
        return _candidates_sql(self.rules, self.reads_stored)

    def requalify(self, run_id: int, member_ids: list[int]) -> RequalificationCounts:
        """Requalify the members (already locked by this transaction); their counts."""
        if not member_ids:
            return RequalificationCounts(0, 0, 0, 0, 0)
        row = self.connection.execute(
            text(_requalify_sql(self.rules, self.reads_stored)),
            self.params | {"ids": member_ids, "run": run_id},
        ).one()
        return RequalificationCounts(
            row.requalified, row.kept, row.upgraded, row.downgraded, row.lifetime_grants
        )


__all__ = ["RequalificationCounts", "RequalificationRepository"]
