"""Retention reports, set-based, from the nightly segments (member_segments, segment_transitions,
segment_counts) and what happened around them: tier changes, expiries, complaints, flights and the promotions
they earned. The rules are miles.domain.retention's; each statement says which it applies."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, Row, text

from miles.domain.retention import RETAINED, WON_BACK_FROM, WON_BACK_TO
from miles.domain.segments import LAPSED_MONTHS

_LIST_RETAINED = ", ".join(f"'{s.value}'" for s in RETAINED)
_LIST_FROM = ", ".join(f"'{s.value}'" for s in WON_BACK_FROM)
_LIST_TO = ", ".join(f"'{s.value}'" for s in WON_BACK_TO)

# the last night of each month in the range and its counts
_HISTORY = text(
    """
    WITH nights AS (
        SELECT max(run_date) AS run_date FROM segment_counts
        WHERE run_date >= :first AND run_date < :after GROUP BY date_trunc('month', run_date)
    )
    SELECT c.run_date, c.name, c.members FROM segment_counts c JOIN nights n ON n.run_date = c.run_date
    ORDER BY c.run_date, c.name
    """
)

# cause_of_loss: the latest complaint, downgrade or expiry within 12 months before the night the member became
# lost; on one day a complaint, then a downgrade, then an expiry
_LOST = text(
    """
    WITH lost AS MATERIALIZED (
        SELECT member_id, run_date FROM segment_transitions
        WHERE to_segment = 'lost' AND run_date >= :first AND run_date < :after
    ), events AS (
        SELECT c.member_id, CAST(c.recorded_at AT TIME ZONE :tz AS date) AS on_date, 0 AS rank,
               'complaint' AS cause
        FROM complaints c WHERE c.member_id IN (SELECT member_id FROM lost)
        UNION ALL
        SELECT tc.member_id, coalesce(r.run_date, CAST(tc.created_at AT TIME ZONE :tz AS date)), 1, 'downgrade'
        FROM tier_changes tc LEFT JOIN nightly_runs r ON r.id = tc.run_id
        WHERE tc.member_id IN (SELECT member_id FROM lost)
          AND array_position(CAST(:ladder AS text[]), tc.to_tier)
              < array_position(CAST(:ladder AS text[]), tc.from_tier)
        UNION ALL
        SELECT a.member_id, CAST(coalesce(t.posted_at, t.created_at) AT TIME ZONE :tz AS date), 2, 'expiry'
        FROM transfers t JOIN accounts a ON a.id = t.from_account_id
        WHERE t.code = 'expiry' AND a.member_id IN (SELECT member_id FROM lost)
    ), caused AS (
        SELECT l.run_date, (
            SELECT e.cause FROM events e
            WHERE e.member_id = l.member_id AND e.on_date <= l.run_date
              AND e.on_date + interval '12 months' >= l.run_date
            ORDER BY e.on_date DESC, e.rank LIMIT 1
        ) AS cause
        FROM lost l
    )
    SELECT CAST(date_trunc('month', run_date) AS date) AS month, coalesce(cause, 'none') AS cause,
           count(*) AS members
    FROM caused GROUP BY 1, 2 ORDER BY 1, 2
    """
)

# won back: lapsed or lost -> new or active; the return is the latest flight (not reversed) departed by then,
# within the 12 months before (segments.within_months)
_RETURNS = f"""
    back AS MATERIALIZED (
        SELECT member_id, run_date FROM segment_transitions
        WHERE from_segment IN ({_LIST_FROM}) AND to_segment IN ({_LIST_TO})
          AND run_date >= :first AND run_date < :after
    ), returned AS (  -- a flight before the lapse (over 12 months before the night) did not bring them back
        SELECT b.member_id, b.run_date, (
            SELECT a.id FROM accruals a
            WHERE a.member_id = b.member_id AND a.departure_date <= b.run_date
              AND a.departure_date + make_interval(months => {LAPSED_MONTHS}) >= b.run_date
              AND NOT EXISTS (SELECT 1 FROM accrual_reversals r WHERE r.accrual_id = a.id)
            ORDER BY a.departure_date DESC, a.id DESC LIMIT 1
        ) AS accrual_id
        FROM back b
    ), earned AS (  -- the promotions the return flight earned and kept (an award not reversed)
        SELECT r.member_id, r.run_date, pa.promotion_id
        FROM returned r JOIN promotion_awards pa ON pa.accrual_id = r.accrual_id AND pa.reverses_award_id IS NULL
        WHERE NOT EXISTS (SELECT 1 FROM promotion_awards x WHERE x.reverses_award_id = pa.id)
    )
"""

_WON_BACK = text(
    f"""
    WITH {_RETURNS}
    SELECT CAST(date_trunc('month', r.run_date) AS date) AS month, p.code, GROUPING(p.code) = 1 AS total,
           count(DISTINCT r.member_id) AS members
    FROM returned r LEFT JOIN earned e ON e.member_id = r.member_id AND e.run_date = r.run_date
    LEFT JOIN promotions p ON p.id = e.promotion_id
    GROUP BY GROUPING SETS ((1), (1, 2)) ORDER BY 1, 2 NULLS FIRST
    """
)

# retained at each month's end since enrolment: the segment of the last transition on or before it
_COHORTS = text(
    f"""
    WITH cohort AS MATERIALIZED (
        SELECT id, CAST(date_trunc('month', created_at AT TIME ZONE :tz) AS date) AS enrolled FROM members
        WHERE created_at >= :first_at AND created_at < :after_at
    ), ends AS (
        SELECT e.enrolled, k,
               CAST(e.enrolled + make_interval(months => k + 1) - interval '1 day' AS date) AS month_end
        FROM (SELECT DISTINCT enrolled FROM cohort) e CROSS JOIN generate_series(0, :months - 1) k
        WHERE e.enrolled + make_interval(months => k + 1) - interval '1 day' <= :last_night
    ), spans AS (
        SELECT member_id, to_segment, run_date,
               lead(run_date) OVER (PARTITION BY member_id ORDER BY run_date) AS next_date
        FROM segment_transitions WHERE member_id IN (SELECT id FROM cohort)
    )
    SELECT e.enrolled, e.k,
           count(s.member_id) FILTER (WHERE s.to_segment IN ({_LIST_RETAINED})) AS retained,
           count(s.member_id) AS known
    FROM ends e JOIN cohort c ON c.enrolled = e.enrolled
    LEFT JOIN spans s ON s.member_id = c.id AND s.run_date <= e.month_end
                     AND (s.next_date IS NULL OR s.next_date > e.month_end)
    GROUP BY e.enrolled, e.k ORDER BY 1, 2
    """
)

_COHORT_SIZES = text(
    """
    SELECT CAST(date_trunc('month', created_at AT TIME ZONE :tz) AS date) AS enrolled, count(*) AS members
    FROM members WHERE created_at >= :first_at AND created_at < :after_at GROUP BY 1 ORDER BY 1
    """
)

# each promotion's miles awarded in the range (net of reversals) and the members it brought back then
_PROMOTIONS = text(
    f"""
    WITH {_RETURNS}, awarded AS (
        SELECT promotion_id, sum(miles) AS miles,
               count(DISTINCT member_id) FILTER (WHERE reverses_award_id IS NULL) AS members
        FROM promotion_awards
        WHERE event_at >= :first_at AND event_at < :after_at GROUP BY promotion_id
    ), reactivated AS (
        SELECT promotion_id, count(DISTINCT member_id) AS members FROM earned GROUP BY promotion_id
    )
    SELECT p.code, p.name, coalesce(a.miles, 0) AS miles, coalesce(a.members, 0) AS members,
           coalesce(x.members, 0) AS reactivated
    FROM promotions p LEFT JOIN awarded a ON a.promotion_id = p.id LEFT JOIN reactivated x ON x.promotion_id = p.id
    WHERE a.promotion_id IS NOT NULL OR x.promotion_id IS NOT NULL
    ORDER BY coalesce(x.members, 0) DESC, p.code
    """
)


class RetentionRepository:
    def __init__(self, connection: Connection, timezone: str) -> None:
        self.connection = connection
        self.tz = timezone

    def _rows(self, statement: object, **params: object) -> list[Row]:  # type: ignore[type-arg]
        return list(self.connection.execute(statement, {"tz": self.tz, **params}))  # type: ignore[call-overload]

    def last_night(self) -> date | None:
        night: date | None = self.connection.execute(
            text("SELECT max(run_date) FROM segment_counts")
        ).scalar_one()
        return night

    def history(self, first: date, after: date) -> list[Row]:  # type: ignore[type-arg]
        return self._rows(_HISTORY, first=first, after=after)

    def lost(self, first: date, after: date, ladder: list[str]) -> list[Row]:  # type: ignore[type-arg]
        return self._rows(_LOST, first=first, after=after, ladder=ladder)

    def won_back(self, first: date, after: date) -> list[Row]:  # type: ignore[type-arg]
        return self._rows(_WON_BACK, first=first, after=after)

    def cohorts(self, first_at: datetime, after_at: datetime, months: int, last_night: date) -> list[Row]:  # type: ignore[type-arg]
        return self._rows(
            _COHORTS, first_at=first_at, after_at=after_at, months=months, last_night=last_night
        )

    def cohort_sizes(self, first_at: datetime, after_at: datetime) -> list[Row]:  # type: ignore[type-arg]
        return self._rows(_COHORT_SIZES, first_at=first_at, after_at=after_at)

    def promotions(self, first: date, after: date, first_at: datetime, after_at: datetime) -> list[Row]:  # type: ignore[type-arg]
        return self._rows(_PROMOTIONS, first=first, after=after, first_at=first_at, after_at=after_at)
