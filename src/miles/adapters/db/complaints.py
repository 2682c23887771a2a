"""Complaints (migration 0016: never deleted, what was recorded never changes, the resolution and the
goodwill each written once) and the service-recovery report, set-based.

The report (miles.domain.complaints has its arithmetic), for the complaints recorded in [since, until):

- Each member is counted once, in one group: compensated when any of their complaints of the range has a
  linked goodwill that was applied (APPLIED, or APPROVED by a supervisor); else not compensated (no goodwill,
  or one still waiting or rejected). The group's complaints are its members' complaints of the range.
- A member's window: from the day (programme time zone) of their first complaint of the range (for the
  compensated, their first compensated one), excluded, to 12 months later, included, cut at `as_of`.
  `members_full_year`: windows that are a whole 12 months; `complaints_full_year`: complaints recorded at
  least 12 months before `as_of`.
- Active: a flight accrual not reversed departing in the window, or a partner activity posted with its
  activity date in the window. Flights: those accruals; miles earned: their award miles and those partner
  activities' miles (goodwill is given, not earned).
- Left: the member's segment (the last night's, `member_segments`) is lapsed or lost; a member the nights
  have not segmented yet left when quiet (since their last activity, else enrolment) over 12 months at
  `as_of`, the lapsed rule of miles.domain.segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text

from miles.domain.complaints import FOLLOW_MONTHS, GroupCounts
from miles.domain.goodwill import APPLIED, APPROVED


@dataclass(frozen=True)
class ComplaintRecord:
    id: int
    member_id: int
    category: str
    description: str
    resolution: str | None
    goodwill_id: int | None
    goodwill_miles: int | None
    goodwill_status: str | None
    recorded_by: str
    recorded_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class GoodwillChoice:
    """A goodwill adjustment of the member no complaint names yet."""

    id: int
    miles: int
    reason_code: str
    status: str
    requested_at: datetime


_SELECT = """
    SELECT c.id, c.member_id, c.category, c.description, c.resolution, c.goodwill_id,
           g.miles AS goodwill_miles, g.status AS goodwill_status, c.recorded_by, c.recorded_at, c.resolved_at
    FROM complaints c LEFT JOIN goodwill_adjustments g ON g.id = c.goodwill_id
"""

_REPORT = f"""
WITH c AS MATERIALIZED (
    SELECT c.id, c.member_id, CAST(c.recorded_at AT TIME ZONE :tz AS date) AS day,
           coalesce(g.status IN ('{APPLIED}', '{APPROVED}'), false) AS compensated
    FROM complaints c LEFT JOIN goodwill_adjustments g ON g.id = c.goodwill_id
    WHERE c.recorded_at >= :since AND c.recorded_at < :until
), w AS (  -- each member once, in one group, from the complaint that put them there
    SELECT member_id, bool_or(compensated) AS compensated,
           CASE WHEN bool_or(compensated) THEN min(day) FILTER (WHERE compensated) ELSE min(day) END
               AS start_day,
           count(*) AS complaints,
           count(*) FILTER (WHERE day + make_interval(months => {FOLLOW_MONTHS}) <= CAST(:as_of AS date))
               AS complaints_full_year
    FROM c GROUP BY member_id
), win AS MATERIALIZED (
    SELECT w.*, least(CAST(start_day + make_interval(months => {FOLLOW_MONTHS}) AS date),
                      CAST(:as_of AS date)) AS end_day,
           start_day + make_interval(months => {FOLLOW_MONTHS}) <= CAST(:as_of AS date) AS full_year
    FROM w
), flights AS (
    SELECT win.member_id, count(*) AS flights, sum(ac.award_miles) AS miles
    FROM win JOIN accruals ac ON ac.member_id = win.member_id
         AND ac.departure_date > win.start_day AND ac.departure_date <= win.end_day
    WHERE NOT EXISTS (SELECT 1 FROM accrual_reversals r WHERE r.accrual_id = ac.id)
    GROUP BY win.member_id
), partner AS (
    SELECT win.member_id, sum(p.miles) AS miles
    FROM win JOIN partner_activities p ON p.member_id = win.member_id AND p.status = 'posted'
         AND p.activity_date > win.start_day AND p.activity_date <= win.end_day
    GROUP BY win.member_id
), followed AS (
    SELECT win.member_id, win.compensated, win.complaints, win.complaints_full_year, win.full_year,
           coalesce(f.flights, 0) AS flights, coalesce(f.miles, 0) + coalesce(p.miles, 0) AS miles,
           f.member_id IS NOT NULL OR p.member_id IS NOT NULL AS active,
           CASE WHEN s.member_id IS NOT NULL THEN s.segment IN ('lapsed', 'lost')
                ELSE coalesce(m.last_activity_date, CAST(m.created_at AT TIME ZONE :tz AS date))
                     + make_interval(months => {FOLLOW_MONTHS}) < CAST(:as_of AS date) END AS gone
    FROM win JOIN members m ON m.id = win.member_id
    LEFT JOIN flights f ON f.member_id = win.member_id
    LEFT JOIN partner p ON p.member_id = win.member_id
    LEFT JOIN member_segments s ON s.member_id = win.member_id
)
SELECT g.compensated, count(x.member_id) AS members,
       coalesce(sum(x.complaints), 0) AS complaints,
       coalesce(sum(x.complaints_full_year), 0) AS complaints_full_year,
       count(*) FILTER (WHERE x.full_year) AS members_full_year,
       count(*) FILTER (WHERE x.active) AS members_active,
       count(*) FILTER (WHERE x.gone) AS members_left,
       coalesce(sum(x.flights), 0) AS flights,
       coalesce(sum(x.miles), 0) AS miles
FROM (VALUES (true), (false)) AS g (compensated)
LEFT JOIN followed x ON x.compensated = g.compensated
GROUP BY g.compensated
"""


class ComplaintRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def lock_member(self, member_number: str) -> int | None:
        """The member's id, their row locked (complaints and goodwill of one member are linked under it)."""
        found = self.connection.execute(
            text("SELECT id FROM members WHERE member_number = :n FOR UPDATE"), {"n": member_number}
        ).scalar()
        return None if found is None else int(found)

    def member_id(self, member_number: str) -> int | None:
        found = self.connection.execute(
            text("SELECT id FROM members WHERE member_number = :n"), {"n": member_number}
        ).scalar()
        return None if found is None else int(found)

    def add(
        self,
        member_id: int,
        category: str,
        description: str,
        recorded_by: str,
        recorded_at: datetime,
        resolution: str | None = None,
        goodwill_id: int | None = None,
    ) -> int:
        return int(
            self.connection.execute(
                text(
                    """
                    INSERT INTO complaints (member_id, category, description, resolution, goodwill_id,
                        recorded_by, recorded_at, resolved_at)
                    VALUES (:m, :c, :d, :r, :g, :by, :at, CASE WHEN CAST(:r AS text) IS NULL THEN NULL
                                                             ELSE CAST(:at AS timestamptz) END)
                    RETURNING id
                    """
                ),
                {
                    "m": member_id,
                    "c": category,
                    "d": description,
                    "r": resolution,
                    "g": goodwill_id,
                    "by": recorded_by,
                    "at": recorded_at,
                },
            ).scalar_one()
        )

    def get(self, complaint_id: int, lock: bool = False) -> ComplaintRecord | None:
        suffix = " FOR UPDATE OF c" if lock else ""
        row = self.connection.execute(
            text(f"{_SELECT} WHERE c.id = :id{suffix}"), {"id": complaint_id}
        ).first()
        return None if row is None else ComplaintRecord(**row._mapping)

    def resolve(self, complaint_id: int, resolution: str, resolved_at: datetime) -> bool:
        """Write the resolution once: False when the complaint already had one."""
        done = self.connection.execute(
            text(
                "UPDATE complaints SET resolution = :r, resolved_at = :at "
                "WHERE id = :id AND resolution IS NULL RETURNING id"
            ),
            {"id": complaint_id, "r": resolution, "at": resolved_at},
        ).first()
        return done is not None

    def link_goodwill(self, complaint_id: int, goodwill_id: int) -> bool:
        """Name the goodwill once: False when the complaint already named one."""
        done = self.connection.execute(
            text(
                "UPDATE complaints SET goodwill_id = :g WHERE id = :id AND goodwill_id IS NULL RETURNING id"
            ),
            {"id": complaint_id, "g": goodwill_id},
        ).first()
        return done is not None

    def goodwill_owner(self, goodwill_id: int) -> int | None:
        """The member a goodwill adjustment was granted to (None: no such adjustment)."""
        found = self.connection.execute(
            text("SELECT member_id FROM goodwill_adjustments WHERE id = :g"), {"g": goodwill_id}
        ).scalar()
        return None if found is None else int(found)

    def complaint_of_goodwill(self, goodwill_id: int) -> int | None:
        found = self.connection.execute(
            text("SELECT id FROM complaints WHERE goodwill_id = :g"), {"g": goodwill_id}
        ).scalar()
        return None if found is None else int(found)

    def for_member(self, member_id: int, limit: int) -> list[ComplaintRecord]:
        """The member's complaints, newest first."""
        rows = self.connection.execute(
            text(f"{_SELECT} WHERE c.member_id = :m ORDER BY c.id DESC LIMIT :n"),
            {"m": member_id, "n": limit},
        )
        return [ComplaintRecord(**r._mapping) for r in rows]

    def unlinked_goodwill(self, member_id: int, limit: int) -> list[GoodwillChoice]:
        """The member's goodwill adjustments no complaint names (rejected ones too: a complaint may record
        that goodwill was refused), newest first."""
        rows = self.connection.execute(
            text(
                """
                SELECT g.id, g.miles, g.reason_code, g.status, g.requested_at FROM goodwill_adjustments g
                WHERE g.member_id = :m AND NOT EXISTS (SELECT 1 FROM complaints c WHERE c.goodwill_id = g.id)
                ORDER BY g.id DESC LIMIT :n
                """
            ),
            {"m": member_id, "n": limit},
        )
        return [GoodwillChoice(**r._mapping) for r in rows]

    def report(self, timezone: str, since: datetime, until: datetime, as_of: date) -> dict[bool, GroupCounts]:
        """The two groups' counts (compensated: True), both always present."""
        rows = self.connection.execute(
            text(_REPORT), {"tz": timezone, "since": since, "until": until, "as_of": as_of}
        )
        return {
            bool(r.compensated): GroupCounts(
                members=int(r.members),
                complaints=int(r.complaints),
                complaints_full_year=int(r.complaints_full_year),
                members_full_year=int(r.members_full_year),
                members_active=int(r.members_active),
                members_left=int(r.members_left),
                flights=int(r.flights),
                miles=int(r.miles),
            )
            for r in rows
        }
