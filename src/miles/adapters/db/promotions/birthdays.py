"""Birthday bonuses, set-based: the members a night may grant one to (for the run's plan), and the
grants due to a chunk's members, cut to each promotion's limits and budget in one statement.

A member celebrates on the run date when their birth month and day are the date's (29 February counts
on 28 February in other years: miles.domain.promotions.evaluation.birthday_on). Exactly once per member,
promotion and year: the chunk commits once, and a unique key on the awards holds it whatever happens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text

from miles.domain.promotions.evaluation import birthday_on


def celebrated_on(day: date) -> list[int]:
    """The birthdays (month x 100 + day) celebrated on `day`, by the domain's rule."""
    return [
        mmdd
        for mmdd in sorted({day.month * 100 + day.day, 229})
        if birthday_on(date(2000, mmdd // 100, mmdd % 100), day)
    ]


BIRTHDAY_CANDIDATES = """
    SELECT id AS member_id FROM members
    WHERE birth_date IS NOT NULL
      AND CAST(extract(month FROM birth_date) * 100 + extract(day FROM birth_date) AS int) = ANY(:birthdays)
"""


@dataclass(frozen=True)
class BirthdayGrant:
    promotion_id: int
    member_id: int
    account_id: int
    miles: int


_DUE = text(
    """
    WITH p AS (
        SELECT id, starts_on, coalesce(stacking_group, '#' || id) AS grp, CAST(effect->>'miles' AS bigint) AS miles,
               budget_miles - budget_spent AS budget_left,
               CAST(limits->>'per_member_miles' AS bigint) AS per_member_miles,
               CAST(limits->>'per_member_times' AS int) AS per_member_times,
               ARRAY(SELECT jsonb_array_elements_text(audience->'tiers')) AS tiers,
               CAST(audience->>'inactive_for_months' AS int) AS inactive_months,
               CAST(audience->>'enrolled_within_days' AS int) AS enrolled_days,
               registration_required
        FROM promotions
        WHERE trigger = 'birthday' AND starts_on <= :d AND ends_on >= :d AND (ended_at IS NULL OR ended_at > :now)
        ORDER BY id FOR NO KEY UPDATE
    ), due AS (
        SELECT p.id AS promotion_id, p.starts_on, p.grp, m.id AS member_id, a.id AS account_id,
               least(p.miles,
                     coalesce(p.per_member_miles - coalesce(pm.miles, 0), p.miles)) AS miles,
               p.budget_left
        FROM members m
        JOIN accounts a ON a.member_id = m.id
        CROSS JOIN p
        LEFT JOIN promotion_members pm ON pm.member_id = m.id AND pm.promotion_id = p.id
        WHERE m.id = ANY(:ids) AND m.birth_date IS NOT NULL
          AND CAST(extract(month FROM m.birth_date) * 100 + extract(day FROM m.birth_date) AS int) = ANY(:birthdays)
          AND (cardinality(p.tiers) = 0 OR m.tier = ANY(p.tiers))
          AND (p.inactive_months IS NULL
               OR coalesce(m.last_activity_date, CAST(m.created_at AT TIME ZONE :tz AS date))
                  + make_interval(months => p.inactive_months) <= :d)
          AND (p.enrolled_days IS NULL OR CAST(m.created_at AT TIME ZONE :tz AS date) >= CAST(:d AS date) - p.enrolled_days)
          AND (NOT p.registration_required OR pm.registered_on <= :d)
          AND (p.per_member_times IS NULL OR coalesce(pm.times, 0) < p.per_member_times)
          AND NOT EXISTS (SELECT 1 FROM promotion_awards w
                          WHERE w.promotion_id = p.id AND w.member_id = m.id AND w.birthday_year = :year
                            AND w.reverses_award_id IS NULL)
    ), best AS (           -- one per member and stacking group: the most miles, the earlier start, the smaller id
        SELECT DISTINCT ON (member_id, grp) * FROM due WHERE miles > 0
        ORDER BY member_id, grp, miles DESC, starts_on, promotion_id
    ), cut AS (            -- the budget, in member id order
        SELECT best.*, sum(miles) OVER (PARTITION BY promotion_id ORDER BY member_id) - miles AS before
        FROM best
    )
    SELECT promotion_id, member_id, account_id,
           CASE WHEN budget_left IS NULL THEN miles ELSE least(miles, greatest(budget_left - before, 0)) END AS miles
    FROM cut ORDER BY member_id, promotion_id
    """
)


class BirthdayRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def due(self, member_ids: list[int], day: date, now: datetime, timezone: str) -> list[BirthdayGrant]:
        """The birthday bonuses the members (locked) get on `day`, within limits and budgets (the
        promotions' rows locked until commit)."""
        if not member_ids:
            return []
        rows = self.connection.execute(
            _DUE,
            {
                "ids": member_ids,
                "d": day,
                "now": now,
                "tz": timezone,
                "year": day.year,
                "birthdays": celebrated_on(day),
            },
        )
        return [
            BirthdayGrant(r.promotion_id, r.member_id, r.account_id, int(r.miles))
            for r in rows
            if r.miles > 0
        ]

    def any_running(self, day: date, now: datetime) -> bool:
        """A birthday promotion runs on `day`."""
        return bool(
            self.connection.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM promotions WHERE trigger = 'birthday' AND starts_on <= :d "
                    "AND ends_on >= :d AND (ended_at IS NULL OR ended_at > :now))"
                ),
                {"d": day, "now": now},
            ).scalar_one()
        )
