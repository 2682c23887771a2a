"""The nightly requalification of a chunk of members, set-based: one statement locks the members that
have something to change, one statement changes them all and records their tier changes.

It is miles.domain.requalification.nightly_standing written for many members at once; the tests hold
the two to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from miles.domain.requalification import last_complete_year, upgrade_years
from miles.domain.rules import Programme
from miles.domain.tiers import Tier, requalified_valid_until

TIER_NAMES = "ARRAY['BLUE','SILVER','GOLD','PLATINUM']"


def tier_rank_sql(column: str) -> str:
    """SQL: a tier name as its rank (BLUE 0 ... PLATINUM 3)."""
    return f"(array_position({TIER_NAMES}, {column}) - 1)"


def tier_name_sql(expression: str) -> str:
    """SQL: a tier rank as its name."""
    return f"({TIER_NAMES})[({expression}) + 1]"


def feb_end_sql(year_expression: str) -> str:
    """SQL: the last day of February of a year."""
    return f"(make_date(({year_expression})::int, 3, 1) - 1)"


@dataclass(frozen=True)
class TierRules:
    """The programme's thresholds as SQL expressions with their bound values."""

    programme: Programme

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, rule in enumerate(self.programme.tiers):
            out |= {f"tm{i}": rule.status_miles, f"ts{i}": rule.segments}
        for i, life in enumerate(self.programme.lifetime):
            out[f"lm{i}"] = life.status_miles
        return out

    def earned(self, miles: str, segments: str) -> str:
        """SQL: the tier rank earned by a year's (status miles, segments), like Programme.tier_earned."""
        cases = [
            f"CASE WHEN {miles} >= :tm{i} OR {segments} >= :ts{i} THEN {int(rule.tier)} ELSE 0 END"
            for i, rule in enumerate(self.programme.tiers)
        ]
        return f"greatest(0, {', '.join(cases)})"

    def lifetime(self, miles: str) -> str:
        """SQL: the lifetime tier rank of lifetime status miles, like Programme.lifetime_tier."""
        cases = [
            f"CASE WHEN {miles} >= :lm{i} THEN {int(life.tier)} ELSE 0 END"
            for i, life in enumerate(self.programme.lifetime)
        ]
        return f"greatest(0, {', '.join(cases)})"

    def reaches_a_tier(self, miles: str, segments: str) -> str:
        """SQL: a year's totals reach the lowest tier (a cheap test before `earned`)."""
        lowest = min(range(len(self.programme.tiers)), key=lambda i: self.programme.tiers[i].tier)
        return f"({miles} >= :tm{lowest} OR {segments} >= :ts{lowest})"

    def lifetime_minimum(self) -> int:
        return min((life.status_miles for life in self.programme.lifetime), default=2**62)


def _candidates_sql(rules: TierRules) -> str:
    """Every member whose standing the run may change: a tier expired before the run date, a lifetime
    milestone not applied (or a lifetime tier not yet the floor), a tier earned in a year still valid
    that is higher (or valid longer) than the one held. Read once per run, set-based, when it is planned:
    one pass over the members, and one over the yearly totals that reach a tier, joined to their members."""
    earned = rules.earned("q.status_miles", "q.segments")
    return f"""
        SELECT id AS member_id FROM members
        WHERE tier_valid_until < :d
           OR (lifetime_status_miles >= :life_min
               AND {rules.lifetime("lifetime_status_miles")} > {tier_rank_sql("lifetime_tier")})
           OR (lifetime_tier <> 'BLUE' AND {tier_rank_sql("lifetime_tier")} >= {tier_rank_sql("tier")}
               AND (tier <> lifetime_tier OR tier_valid_until IS NOT NULL))
        UNION
        SELECT q.member_id FROM qualifying_totals q JOIN members m ON m.id = q.member_id
        WHERE q.year = ANY(CAST(:up_years AS smallint[])) AND {rules.reaches_a_tier("q.status_miles", "q.segments")}
          AND ({earned} > {tier_rank_sql("m.tier")}
               OR ({earned} = {tier_rank_sql("m.tier")} AND m.tier_valid_until < {feb_end_sql("q.year + 2")}))
    """


def _requalify_sql(rules: TierRules) -> str:
    earned = rules.earned("status_miles", "segments")
    return f"""
    WITH q AS (
        SELECT member_id,
               max(earned) FILTER (WHERE year = :last_year) AS earned_last,
               max(earned * 10000 + year) FILTER (WHERE year = ANY(CAST(:up_years AS smallint[])) AND earned > 0)
                   AS best
        FROM (SELECT member_id, year, {earned} AS earned FROM qualifying_totals
              WHERE member_id = ANY(CAST(:ids AS bigint[])) AND year BETWEEN :first_year AND :this_year) x
        GROUP BY member_id
    ), cur AS MATERIALIZED (
        SELECT m.id, m.tier AS old_tier, m.tier_valid_until AS old_valid, m.lifetime_tier AS old_lifetime,
               {tier_rank_sql("m.tier")} AS r0, {tier_rank_sql("m.lifetime_tier")} AS life0,
               greatest({tier_rank_sql("m.lifetime_tier")}, {rules.lifetime("m.lifetime_status_miles")}) AS life,
               m.lifetime_status_miles, coalesce(q.earned_last, 0) AS earned_last,
               q.best / 10000 AS up_rank, q.best % 10000 AS up_year
        FROM members m LEFT JOIN q ON q.member_id = m.id
        WHERE m.id = ANY(CAST(:ids AS bigint[]))
    ), s1 AS MATERIALIZED (                             -- requalification of a tier that expired before the run date
        SELECT cur.*, (old_valid IS NOT NULL AND old_valid < :d) AS requalified,
               CASE WHEN old_valid < :d THEN greatest(earned_last, r0 - 1, life) ELSE r0 END AS r1,
               CASE WHEN old_valid < :d THEN CAST(:requal_valid AS date) ELSE old_valid END AS v1
        FROM cur
    ), upgraded AS MATERIALIZED (                       -- an upgrade the accrual feed left unapplied
        SELECT s1.*, (up_rank IS NOT NULL AND (up_rank > r1 OR (up_rank = r1 AND v1 IS NOT NULL
                       AND {feb_end_sql("up_year + 2")} > v1))) AS up
        FROM s1
    ), s2 AS MATERIALIZED (
        SELECT upgraded.*,
               CASE WHEN up THEN up_rank ELSE r1 END AS r2,
               CASE WHEN up THEN {feb_end_sql("up_year + 2")} ELSE v1 END AS v2
        FROM upgraded
    ), s3 AS MATERIALIZED (                             -- the lifetime tier is a floor, for life
        SELECT s2.*,
               (life > 0 AND life >= r2 AND (r2 <> life OR v2 IS NOT NULL)) AS floor,
               CASE WHEN life > 0 AND life >= r2 THEN life ELSE r2 END AS r3
        FROM s2
    ), fin AS MATERIALIZED (
        SELECT s3.*, CASE WHEN floor OR r3 = 0 THEN NULL ELSE v2 END AS v3,
               CASE WHEN floor THEN 'lifetime'
                    WHEN up THEN 'upgrade'
                    WHEN requalified AND r1 = r0 - 1 AND r0 - 1 > earned_last THEN 'soft_landing'
                    WHEN requalified THEN 'requalified'
                    ELSE 'lifetime' END AS reason
        FROM s3
    ), changed AS (
        SELECT * FROM fin
        WHERE r3 <> r0 OR v3 IS DISTINCT FROM old_valid OR life <> life0
    ), upd AS (
        UPDATE members m SET tier = {tier_name_sql("c.r3")}, tier_valid_until = c.v3, lifetime_tier = {tier_name_sql("c.life")}
        FROM changed c WHERE m.id = c.id
        RETURNING m.id
    ), history AS (
        INSERT INTO tier_changes (member_id, from_tier, to_tier, valid_until, reason, run_id)
        SELECT id, old_tier, {tier_name_sql("r3")}, v3,
               CASE reason
                 WHEN 'lifetime' THEN 'lifetime: ' || {tier_name_sql("life")} || ' for life at '
                      || CAST(lifetime_status_miles AS text) || ' lifetime status miles'
                 WHEN 'upgrade' THEN 'upgrade: ' || {tier_name_sql("up_rank")} || ' earned in ' || CAST(up_year AS text)
                      || ', not applied at accrual'
                 WHEN 'soft_landing' THEN 'soft landing: tier expired, earned ' || {tier_name_sql("earned_last")}
                      || ' in ' || CAST(:last_year AS text) || ', one tier down'
                 ELSE 'requalified: tier expired, earned ' || {tier_name_sql("earned_last")} || ' in ' || CAST(:last_year AS text)
               END || ' (nightly run ' || CAST(:d AS text) || ')',
               :run
        FROM changed ORDER BY id
    )
    SELECT count(*) FILTER (WHERE requalified) AS requalified,
           count(*) FILTER (WHERE requalified AND r3 = r0) AS kept,
           count(*) FILTER (WHERE r3 > r0) AS upgraded,
           count(*) FILTER (WHERE r3 < r0) AS downgraded,
           count(*) FILTER (WHERE life > life0) AS lifetime_grants,
           (SELECT count(*) FROM upd) AS written
    FROM changed
    """


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
        years = upgrade_years(run_date)
        last = last_complete_year(run_date)
        self.params: dict[str, Any] = self.rules.params() | {
            "d": run_date,
            "up_years": years,
            "last_year": last,
            "first_year": min([*years, last]),
            "this_year": max([*years, last]),
            "requal_valid": requalified_valid_until(run_date),
            "life_min": self.rules.lifetime_minimum(),
        }

    def candidates_sql(self) -> str:
        return _candidates_sql(self.rules)

    def requalify(self, run_id: int, member_ids: list[int]) -> RequalificationCounts:
        """Requalify the members (already locked by this transaction); their counts."""
        if not member_ids:
            return RequalificationCounts(0, 0, 0, 0, 0)
        row = self.connection.execute(
            text(_requalify_sql(self.rules)), self.params | {"ids": member_ids, "run": run_id}
        ).one()
        return RequalificationCounts(
            row.requalified, row.kept, row.upgraded, row.downgraded, row.lifetime_grants
        )


__all__ = ["RequalificationCounts", "RequalificationRepository", "Tier", "TierRules", "tier_rank_sql"]
