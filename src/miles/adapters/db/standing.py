"""Members' standing in bulk: status credits with their yearly totals, tiers, tier history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class StatusCredit:
    member_id: int
    year: int
    status_miles: int
    segments: int
    spend_usd: Decimal
    accrual_id: int | None
    event_at: datetime


@dataclass(frozen=True)
class StandingUpdate:
    member_id: int
    tier: str
    tier_valid_until: date | None
    lifetime_tier: str
    lifetime_delta: int
    activity_date: date | None


_CREDITS = """
    SELECT * FROM unnest(CAST(:m AS bigint[]), CAST(:y AS smallint[]), CAST(:s AS int[]), CAST(:g AS smallint[]),
                         CAST(:p AS numeric[]), CAST(:a AS bigint[]), CAST(:at AS timestamptz[]))
           AS s(member_id, year, status_miles, segments, spend_usd, accrual_id, event_at)
"""


# the members' standing from the rows of `u` (id, tier, valid_until, lifetime_tier, delta, activity): the
# accrual statement writes it for its coupons (accrual_writes), `StandingRepository.update` for the others
APPLY_STANDING = """
    UPDATE members m SET tier = u.tier, tier_valid_until = u.valid_until, lifetime_tier = u.lifetime_tier,
           lifetime_status_miles = m.lifetime_status_miles + u.delta,
           last_activity_date = greatest(m.last_activity_date, u.activity)
    FROM {standing}
    WHERE m.id = u.id
"""


class StandingRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def credit(self, code: str, credits: list[StatusCredit]) -> None:
        if not credits:
            return
        params = {
            "code": code,
            "m": [c.member_id for c in credits],
            "y": [c.year for c in credits],
            "s": [c.status_miles for c in credits],
            "g": [c.segments for c in credits],
            "p": [c.spend_usd for c in credits],
            "a": [c.accrual_id for c in credits],
            "at": [c.event_at for c in credits],
        }
        # a credit may be negative (a reversal): make sure the year's row exists, then add to it, so
        # that the totals' CHECK (>= 0) judges the result, not the delta
        self.connection.execute(
            text(
                f"""
                WITH src AS ({_CREDITS}), c AS (
                    INSERT INTO status_credits (member_id, year, status_miles, segments, spend_usd, code,
                                                accrual_id, event_at)
                    SELECT member_id, year, status_miles, segments, spend_usd, :code, accrual_id, event_at
                    FROM src
                )
                INSERT INTO qualifying_totals (member_id, year)
                SELECT DISTINCT member_id, year FROM src ORDER BY member_id, year
                ON CONFLICT (member_id, year) DO NOTHING
                """
            ),
            params,
        )
        self.connection.execute(
            text(
                f"""
                UPDATE qualifying_totals q SET status_miles = q.status_miles + d.s, segments = q.segments + d.g,
                       spend_usd = q.spend_usd + d.p
                FROM (SELECT member_id, year, sum(status_miles) AS s, sum(segments) AS g, sum(spend_usd) AS p
                      FROM ({_CREDITS}) src GROUP BY member_id, year) d
                WHERE q.member_id = d.member_id AND q.year = d.year
                """
            ),
            params,
        )

    def update(self, updates: list[StandingUpdate]) -> None:
        if not updates:
            return
        self.connection.execute(
            text(
                APPLY_STANDING.format(
                    standing="unnest(CAST(:id AS bigint[]), CAST(:tier AS text[]), CAST(:valid AS date[]), "
                    "CAST(:lifetime AS text[]), CAST(:delta AS bigint[]), CAST(:activity AS date[])) "
                    "AS u(id, tier, valid_until, lifetime_tier, delta, activity)"
                )
            ),
            {
                "id": [u.member_id for u in updates],
                "tier": [u.tier for u in updates],
                "valid": [u.tier_valid_until for u in updates],
                "lifetime": [u.lifetime_tier for u in updates],
                "delta": [u.lifetime_delta for u in updates],
                "activity": [u.activity_date for u in updates],
            },
        )
