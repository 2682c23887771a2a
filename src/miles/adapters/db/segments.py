"""Retention segments, set-based (DESIGN.md "Retention analytics and service recovery";
miles.domain.segments is the rule, held against this SQL member by member in test_nightly_segments.py).

Each member's facts on a run date, as miles.domain.segments.MemberActivityFacts has them:

- enrolled_date: `members.created_at` in the programme's time zone (as the expiry reads it).
- last_activity_date: `members.last_activity_date`.
- Activity dates (the usual interval's input): the departure dates of the member's flight accruals not
  reversed, and the activity dates of their posted partner activities. The usual interval is the lower
  median of the gaps between those distinct dates within 24 months of the run date (usual_interval_days).
- flights_12_months: flight accruals not reversed with a departure within 12 months.
- value_12_months: miles credited with an activity within 12 months, net of their reversals: a flight
  accrual not reversed counts its award miles (its promotion bonuses included: reversing the accrual takes
  both back), a posted partner activity its miles and its partner bonuses, a birthday bonus its miles
  (dated the day it was granted). A reversed accrual or partner activity counts nothing.
- tier, top_tier: `members.tier`, and whether it is the ladder's highest tier (passed in: no tier is named).
- all_miles_expired: the member had lots, every one is empty, every draw from them was an expiry, and
  nothing is pending (no miles held, no partner activity waiting to post).

"Within N months" of the run date is `day <= :d AND day + N months >= :d` (within_months). The vip
threshold is computed once per run, when it is planned, over every member (zeros included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from miles.domain.segments import Flag, MemberActivityFacts, Segment

# the members of a range, and what they did: `{members}` filters `members m`, `{within}` bounds each table's
# member_id to the same range (so that each chunk reads its own members' rows through their indexes, never
# every row up to its range)
_FACTS = """
    m AS MATERIALIZED (
        SELECT m.id AS member_id, CAST(m.created_at AT TIME ZONE :tz AS date) AS enrolled_date,
               m.last_activity_date, m.tier
        FROM members m WHERE {members}
    ), flights AS (  -- flight accruals not reversed
        SELECT ac.id, ac.member_id, ac.departure_date AS day, ac.award_miles AS miles
        FROM accruals ac JOIN m ON m.member_id = ac.member_id
        WHERE ac.member_id {within} AND NOT EXISTS (SELECT 1 FROM accrual_reversals r WHERE r.accrual_id = ac.id)
    ), partner AS (  -- partner activities posted (a reversed one has status 'reversed')
        SELECT p.id, p.member_id, p.activity_date AS day, p.miles
        FROM partner_activities p JOIN m ON m.member_id = p.member_id
        WHERE p.member_id {within} AND p.status = 'posted'
    ), bonuses AS (  -- the bonuses no accrual carries: a posted partner activity's, and birthdays'
        SELECT w.member_id, p.day, w.miles FROM partner p JOIN promotion_awards w ON w.partner_activity_id = p.id
        WHERE w.member_id {within}  -- no index serves partner_activity_id alone: read the range's awards
        UNION ALL
        SELECT w.member_id, CAST(coalesce(o.event_at, w.event_at) AT TIME ZONE :tz AS date), w.miles
        FROM promotion_awards w JOIN m ON m.member_id = w.member_id
        LEFT JOIN promotion_awards o ON o.id = w.reverses_award_id
        WHERE w.member_id {within} AND w.birthday_year IS NOT NULL
    ), credited AS (
        SELECT member_id, day, miles, true AS flight FROM flights
        UNION ALL SELECT member_id, day, miles, false FROM partner
        UNION ALL SELECT member_id, day, miles, false FROM bonuses
    ), last_year AS (
        SELECT member_id, count(*) FILTER (WHERE flight) AS flights_12_months,
               CAST(coalesce(sum(miles), 0) AS bigint) AS value_12_months
        FROM credited
        WHERE day <= CAST(:d AS date) AND day + make_interval(months => 12) >= CAST(:d AS date)
        GROUP BY member_id
    )
"""

# the usual interval, all miles expired, and the facts together
_DERIVED = """
    , days AS (
        SELECT DISTINCT member_id, day FROM (
            SELECT member_id, day FROM flights UNION ALL SELECT member_id, day FROM partner
        ) a
        WHERE day <= CAST(:d AS date) AND day + make_interval(months => 24) >= CAST(:d AS date)
    ), gaps AS (
        SELECT member_id, day - lag(day) OVER (PARTITION BY member_id ORDER BY day) AS gap FROM days
    ), rhythm AS (
        SELECT member_id, percentile_disc(0.5) WITHIN GROUP (ORDER BY gap) AS usual_interval_days
        FROM gaps WHERE gap IS NOT NULL GROUP BY member_id
    ), emptied AS (  -- members with lots no longer open: their lots are reached through their account's credits
        SELECT m.member_id, a.id AS account_id FROM m JOIN accounts a ON a.member_id = m.member_id
        WHERE a.pending = 0
          AND NOT EXISTS (SELECT 1 FROM lots l WHERE l.member_id = m.member_id AND l.member_id BETWEEN :lo AND :hi
                          AND l.remaining > 0)
          AND NOT EXISTS (SELECT 1 FROM partner_activities p
                          WHERE p.member_id = m.member_id AND p.status = 'pending')
    ), expired AS (  -- they had lots, and every draw from them was an expiry
        SELECT x.member_id FROM emptied x CROSS JOIN LATERAL (
            SELECT count(*) AS lots,
                   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM lot_draws d JOIN transfers t ON t.id = d.transfer_id
                                                  WHERE d.lot_id = l.id AND t.code <> 'expiry')) AS used
            FROM entries e JOIN lots l ON l.transfer_id = e.transfer_id
            WHERE e.account_id = x.account_id AND e.amount > 0
        ) own
        WHERE own.lots > 0 AND own.used = 0
    ), facts AS (
        SELECT m.member_id, m.enrolled_date, m.last_activity_date, r.usual_interval_days,
               coalesce(y.flights_12_months, 0) AS flights_12_months,
               coalesce(y.value_12_months, 0) AS value_12_months, m.tier,
               m.tier = :top_tier AS top_tier, x.member_id IS NOT NULL AS all_miles_expired,
               coalesce(m.last_activity_date, m.enrolled_date) AS quiet_since
        FROM m LEFT JOIN last_year y USING (member_id) LEFT JOIN rhythm r USING (member_id)
        LEFT JOIN expired x USING (member_id)
    )
"""

# miles.domain.segments.segment_of and flags_of, boundary by boundary
_SEGMENTED = """
    , segmented AS (
        SELECT member_id,
               CASE WHEN CAST(:d AS date) - enrolled_date < 90 THEN 'new'
                    WHEN quiet_since + make_interval(months => 24) < CAST(:d AS date) OR all_miles_expired
                        THEN 'lost'
                    WHEN quiet_since + make_interval(months => 12) < CAST(:d AS date) THEN 'lapsed'
                    WHEN quiet_since + make_interval(months => 6) < CAST(:d AS date)
                      OR (CAST(:d AS date) - quiet_since) * 2 > usual_interval_days * 3 THEN 'at_risk'
                    ELSE 'active' END AS segment,
               flights_12_months >= 2 AS repeat,
               top_tier OR coalesce(value_12_months > 0 AND value_12_months >= CAST(:threshold AS bigint), false) AS vip
        FROM facts
    )
"""

_SEGMENT = (
    "WITH"
    + _FACTS.format(members="m.id BETWEEN :lo AND :hi", within="BETWEEN :lo AND :hi")
    + _DERIVED
    + _SEGMENTED
    + """
    , before_tonight AS (
        SELECT member_id, segment, repeat, vip, run_date FROM member_segments WHERE member_id BETWEEN :lo AND :hi
    ), tonight AS (  -- the members whose segment or flags change; a later night's are never overwritten
        SELECT s.*, p.segment AS previous_segment FROM segmented s LEFT JOIN before_tonight p USING (member_id)
        WHERE (p.member_id IS NULL OR (p.segment, p.repeat, p.vip) IS DISTINCT FROM (s.segment, s.repeat, s.vip))
          AND (p.run_date IS NULL OR p.run_date <= CAST(:d AS date))
          AND NOT EXISTS (SELECT 1 FROM nightly_runs r WHERE r.run_date > CAST(:d AS date))
    ), upsert AS (
        INSERT INTO member_segments (member_id, segment, repeat, vip, since_date, run_date)
        SELECT member_id, segment, repeat, vip, :d, :d FROM tonight ORDER BY member_id
        ON CONFLICT (member_id) DO UPDATE SET
            segment = EXCLUDED.segment, repeat = EXCLUDED.repeat, vip = EXCLUDED.vip,
            since_date = CASE WHEN member_segments.segment = EXCLUDED.segment THEN member_segments.since_date
                              ELSE EXCLUDED.since_date END,
            run_date = EXCLUDED.run_date
    ), moved AS (
        INSERT INTO segment_transitions (member_id, from_segment, to_segment, run_date)
        SELECT member_id, previous_segment, segment, :d FROM tonight
        WHERE previous_segment IS DISTINCT FROM segment ORDER BY member_id
        ON CONFLICT (member_id, run_date) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM moved
    """
)

_FACTS_OF = (
    "WITH"
    + _FACTS.format(members="m.id BETWEEN :lo AND :hi", within="BETWEEN :lo AND :hi")
    + _DERIVED
    + "SELECT member_id, enrolled_date, last_activity_date, usual_interval_days, flights_12_months, "
    "value_12_months, tier, top_tier, all_miles_expired FROM facts ORDER BY member_id"
)

_THRESHOLD = (
    "WITH"
    + _FACTS.format(members="true", within="IS NOT NULL")
    + """
    SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY coalesce(y.value_12_months, 0))
    FROM m LEFT JOIN last_year y USING (member_id)
    """
)

# the advisory lock between the chunks writing segments (shared) and the start of a night (exclusive)
_WRITERS_SHARED = text("SELECT pg_advisory_xact_lock_shared(hashtextextended('miles.segment-writers', 0))")
_WRITERS_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(hashtextextended('miles.segment-writers', 0))")

# every name of segment_counts, counted over every member's segment as the last night gave it
_NAMES = [s.value for s in Segment] + [f.value for f in Flag]
_COUNT = """
    INSERT INTO segment_counts (run_date, name, members)
    SELECT :d, n.name, count(s.member_id)
    FROM unnest(CAST(:names AS text[])) AS n(name)
    LEFT JOIN member_segments s ON s.segment = n.name OR (n.name = 'repeat' AND s.repeat)
                                OR (n.name = 'vip' AND s.vip)
    GROUP BY n.name
    ON CONFLICT (run_date, name) DO UPDATE SET members = EXCLUDED.members
"""


@dataclass(frozen=True)
class SegmentRow:
    member_id: int
    segment: str
    repeat: bool
    vip: bool
    since_date: date
    run_date: date


class SegmentRepository:
    def __init__(self, connection: Connection, timezone: str, top_tier: str, run_date: date) -> None:
        self.connection = connection
        self.params: dict[str, Any] = {"tz": timezone, "top_tier": top_tier, "d": run_date}

    def vip_threshold(self) -> int | None:
        """The least 12-month value in the top 1 % of every member's (top_percent_threshold); None without
        members. Planned without JIT compilation, as the night's chunks are (it costs more than it saves)."""
        self.connection.execute(text("SET LOCAL jit = off"))
        value = self.connection.execute(text(_THRESHOLD), self.params).scalar()
        return None if value is None else int(value)

    def segment(self, first_member_id: int, last_member_id: int, vip_threshold: int | None) -> int:
        """Give every member of the id range their segment and flags on the run date, recording each change
        of segment once; how many transitions were recorded. Only the members whose segment or flags change
        are written (a row's `run_date` is the night that last changed it), and nothing once a later night
        has started (a late chunk of an earlier night: the later night gives the segments)."""
        params = self.params | {"lo": first_member_id, "hi": last_member_id, "threshold": vip_threshold}
        self.connection.execute(_WRITERS_SHARED)  # no night starts before this chunk commits
        return int(self.connection.execute(text(_SEGMENT), params).scalar_one())

    def facts(self, first_member_id: int, last_member_id: int) -> dict[int, MemberActivityFacts]:
        """The facts the segments of the id range are read from, by member id (for checks and diagnosis)."""
        rows = self.connection.execute(
            text(_FACTS_OF), self.params | {"lo": first_member_id, "hi": last_member_id}
        )
        return {
            int(r.member_id): MemberActivityFacts(**{k: v for k, v in r._mapping.items() if k != "member_id"})
            for r in rows
        }


def hold_segment_writers_off(connection: Connection) -> None:
    """Wait for every chunk writing segments now to commit, and keep new ones waiting to the end of the
    transaction (a night being started). A chunk writes only the members whose segment changes from what it
    reads: a later night must not read before an earlier night's chunk commits, or a change that chunk is
    writing would stay when the later night finds it undone. Once the later night's run is committed, a
    late chunk of the earlier night writes no segments at all."""
    connection.execute(_WRITERS_EXCLUSIVE)


def store_vip_threshold(connection: Connection, run_id: int, threshold: int | None) -> None:
    connection.execute(
        text("UPDATE nightly_runs SET vip_threshold = :t WHERE id = :run"), {"t": threshold, "run": run_id}
    )


def count_segments(connection: Connection, run_date: date) -> None:
    """Write the segment sizes and flag counts of `run_date` (again, if they were written)."""
    connection.execute(text(_COUNT), {"d": run_date, "names": _NAMES})


def segment_of_member(connection: Connection, member_number: str) -> SegmentRow | None:
    row = connection.execute(
        text(
            "SELECT s.member_id, s.segment, s.repeat, s.vip, s.since_date, s.run_date "
            "FROM member_segments s JOIN members m ON m.id = s.member_id WHERE m.member_number = :n"
        ),
        {"n": member_number},
    ).first()
    return None if row is None else SegmentRow(**row._mapping)


def counts_on_or_before(connection: Connection, day: date) -> tuple[date, dict[str, int]] | None:
    """The counts of the latest run date on or before `day`; None when none was counted by then."""
    rows = connection.execute(
        text(
            """
            SELECT run_date, name, members FROM segment_counts
            WHERE run_date = (SELECT max(run_date) FROM segment_counts WHERE run_date <= :d)
            """
        ),
        {"d": day},
    ).all()
    if not rows:
        return None
    return rows[0].run_date, {r.name: int(r.members) for r in rows}
