"""Members' standing in bulk: status credits with their period totals, tiers, tier history.

A status credit, a period's totals and an accrual hold one value per qualifying metric, in the
programme's metric order (a later programme version only appends metrics); PostgreSQL adds them
position by position (`miles_add_metrics`, `miles_sum_metrics`, migration 0012).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, text

ZERO = Decimal(0)


def metric_values(codes: Sequence[str], metrics: Mapping[str, Decimal]) -> list[Decimal]:
    """A metrics mapping as stored: one value per metric code, in the programme's order."""
    return [metrics.get(code, ZERO) for code in codes]


def metric_mapping(codes: Sequence[str], values: Sequence[Decimal] | None) -> dict[str, Decimal]:
    """Stored values as a mapping by metric code (0 for a metric appended after they were stored)."""
    stored = list(values or [])
    return {
        code: (stored[i] if i < len(stored) and stored[i] is not None else ZERO)
        for i, code in enumerate(codes)
    }


@dataclass(frozen=True)
class StatusCredit:
    member_id: int
    period_start: date
    metrics: Sequence[Decimal]  # stored order; negative for a reversal
    accrual_id: int | None
    event_at: datetime
    partner_activity_id: int | None = None


@dataclass(frozen=True)
class StandingUpdate:
    member_id: int
    tier: str
    tier_valid_until: date | None
    lifetime_tier: str
    lifetime_delta: Decimal
    activity_date: date | None
    period_start: date | None = None  # a new rolling period; None: unchanged


# the members' standing from the rows of `u` (id, tier, valid_until, lifetime_tier, delta, activity,
# period): the accrual statement writes it for its coupons (accrual_writes), `StandingRepository.update`
# for the others
APPLY_STANDING = """
    UPDATE members m SET tier = u.tier, tier_valid_until = u.valid_until, lifetime_tier = u.lifetime_tier,
           lifetime_total = m.lifetime_total + u.delta,
           last_activity_date = greatest(m.last_activity_date, u.activity),
           period_start = coalesce(u.period, m.period_start)
    FROM {standing}
    WHERE m.id = u.id
"""


class StandingRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def credit(self, code: str, credits: list[StatusCredit]) -> None:
        """Record status credits and add them to their periods' totals (the totals' CHECK (>= 0) judges
        the result of a negative credit, not the credit)."""
        for c in credits:  # the period's row first, then the credit added to it (never a negative insert)
            params = {
                "m": c.member_id,
                "p": c.period_start,
                "v": list(c.metrics),
                "code": code,
                "a": c.accrual_id,
                "at": c.event_at,
                "pa": c.partner_activity_id,
            }
            self.connection.execute(
                text(
                    """
                    WITH c AS (
                        INSERT INTO status_credits (member_id, period_start, metrics, code, accrual_id, event_at,
                                                    partner_activity_id)
                        VALUES (:m, :p, CAST(:v AS numeric[]), :code, :a, :at, :pa)
                    )
                    INSERT INTO qualifying_totals (member_id, period_start, metrics) VALUES (:m, :p, '{}')
                    ON CONFLICT (member_id, period_start) DO NOTHING
                    """
                ),
                params,
            )
            self.connection.execute(
                text(
                    "UPDATE qualifying_totals SET metrics = miles_add_metrics(metrics, CAST(:v AS numeric[])) "
                    "WHERE member_id = :m AND period_start = :p"
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
                    "CAST(:lifetime AS text[]), CAST(:delta AS numeric[]), CAST(:activity AS date[]), "
                    "CAST(:period AS date[])) AS u(id, tier, valid_until, lifetime_tier, delta, activity, period)"
                )
            ),
            {
                "id": [u.member_id for u in updates],
                "tier": [u.tier for u in updates],
                "valid": [u.tier_valid_until for u in updates],
                "lifetime": [u.lifetime_tier for u in updates],
                "delta": [u.lifetime_delta for u in updates],
                "activity": [u.activity_date for u in updates],
                "period": [u.period_start for u in updates],
            },
        )

    def credits_of_partner_activity(self, activity_pk: int) -> list[tuple[date, list[Decimal]]]:
        """The qualifying credits a partner activity gave: (period start, metrics) each."""
        rows = self.connection.execute(
            text(
                "SELECT period_start, metrics FROM status_credits WHERE partner_activity_id = :a ORDER BY id"
            ),
            {"a": activity_pk},
        )
        return [(r.period_start, list(r.metrics)) for r in rows]

    def periods_of(self, member_ids: list[int]) -> dict[int, date]:
        """The members' rolling period starts."""
        rows = self.connection.execute(
            text("SELECT id, period_start FROM members WHERE id = ANY(:ids)"), {"ids": member_ids}
        )
        return {int(r.id): r.period_start for r in rows}

    def add_lifetime(self, deltas: Mapping[int, Decimal]) -> None:
        """Add to the members' lifetime totals (the lifetime metric's credits), members locked by the caller."""
        if not deltas:
            return
        self.connection.execute(
            text(
                "UPDATE members m SET lifetime_total = m.lifetime_total + d.delta "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:deltas AS numeric[])) AS d(id, delta) WHERE m.id = d.id"
            ),
            {"ids": list(deltas), "deltas": list(deltas.values())},
        )

    def record_change(
        self, member_id: int, from_tier: str, to_tier: str, valid_until: date | None, reason: str
    ) -> None:
        """A tier change outside the accrual feed and the nightly run (a grant)."""
        self.connection.execute(
            text(
                "INSERT INTO tier_changes (member_id, from_tier, to_tier, valid_until, reason) "
                "VALUES (:m, :f, :t, :v, :r)"
            ),
            {"m": member_id, "f": from_tier, "t": to_tier, "v": valid_until, "r": reason},
        )
