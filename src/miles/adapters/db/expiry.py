"""Mileage expiry and expiry warnings for a chunk of members, set-based.

Expiry writes, in one statement, one transfer per member from the member's award account to the
programme's `expired` account (code `expiry`) with its two entries, the lot draws it consumed, the
lots' new remaining miles, the member accounts' new balances and the run's expiry record. The
`expired` account's balance is written last, by a separate statement, just before the commit: it is the
one row every chunk shares. Callers hold the members' locks (taken in id order) before calling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from miles.domain.expiry import (
    exempt_tier_names,
    inactivity_cutoff,
    warning_window,
)
from miles.domain.programme.model import ExpiryKind, Programme

# members with miles the run may expire, and members to warn: read once per run when it is planned
_LOTS_CANDIDATES = """
    SELECT DISTINCT l.member_id FROM lots l JOIN members m ON m.id = l.member_id
    WHERE l.remaining > 0 AND l.expires_date < :d
      AND (m.tier <> ALL(CAST(:exempt AS text[])) OR m.tier_valid_until < :d)
"""
_LOTS_WARNING_CANDIDATES = """
    SELECT DISTINCT member_id FROM lots WHERE remaining > 0 AND expires_date BETWEEN :w0 AND :w1
"""
_INACTIVE = "coalesce(m.last_activity_date, CAST(m.created_at AT TIME ZONE :tz AS date))"
_INACTIVITY_CANDIDATES = f"""
    SELECT m.id AS member_id FROM members m JOIN accounts a ON a.member_id = m.id
    WHERE a.balance - a.pending > 0 AND m.tier <> ALL(CAST(:exempt AS text[])) AND {_INACTIVE} < :cutoff
"""
# a redemption leaves the recorded activity date as it was: the last activity can only be later than it, so
# these candidates are everyone whose miles go by the window's end by that date (the chunk looks further);
# an exempt tier that ends tonight may be requalified into one that is not, before the warnings are made
_INACTIVITY_WARNING_CANDIDATES = f"""
    SELECT m.id AS member_id FROM members m JOIN accounts a ON a.member_id = m.id
    WHERE a.balance - a.pending > 0 AND (m.tier <> ALL(CAST(:exempt AS text[])) OR m.tier_valid_until < :d)
      AND CAST({_INACTIVE} + make_interval(months => :months) AS date) <= :w1
"""

# lots policy: the member's expired lots, then what expires: their miles less the debt no lot carries,
# never more than the available miles (miles.domain.expiry.lots_expiring_miles)
_LOTS_DUE = """
    not_exempt AS MATERIALIZED (
        SELECT id FROM members WHERE id = ANY(CAST(:ids AS bigint[])) AND tier <> ALL(CAST(:exempt AS text[]))
    ), lots_due AS (
        SELECT l.id, l.member_id, l.expires_date, l.remaining
        FROM lots l JOIN not_exempt m ON m.id = l.member_id
        WHERE l.member_id = ANY(CAST(:ids AS bigint[])) AND l.remaining > 0 AND l.expires_date < :d
    ), in_lots AS (
        SELECT member_id, sum(remaining) AS miles FROM lots
        WHERE member_id IN (SELECT member_id FROM lots_due) AND remaining > 0 GROUP BY member_id
    ), due AS (
        SELECT a.member_id, a.id AS account_id,
               greatest(0, least(s.miles - greatest(h.miles - a.balance, 0), a.balance - a.pending)) AS amount
        FROM (SELECT member_id, sum(remaining) AS miles FROM lots_due GROUP BY member_id) s
        JOIN in_lots h ON h.member_id = s.member_id
        JOIN accounts a ON a.member_id = s.member_id
    )
"""

# inactivity policy: every available mile of a member with no accrual or redemption since the cutoff
_INACTIVITY_DUE = """
    due AS (
        SELECT m.id AS member_id, a.id AS account_id, a.balance - a.pending AS amount
        FROM members m JOIN accounts a ON a.member_id = m.id
        WHERE m.id = ANY(CAST(:ids AS bigint[])) AND a.balance - a.pending > 0
          AND m.tier <> ALL(CAST(:exempt AS text[]))
          AND coalesce(m.last_activity_date, CAST(m.created_at AT TIME ZONE :tz AS date)) < :cutoff
          AND NOT EXISTS (
              SELECT 1 FROM entries e JOIN transfers t ON t.id = e.transfer_id
              WHERE e.account_id = a.id AND t.code = ANY(CAST(:activity AS text[])) AND t.event_at >= :cutoff_at)
    ), lots_due AS (
        SELECT l.id, l.member_id, l.expires_date, l.remaining FROM lots l
        WHERE l.member_id IN (SELECT member_id FROM due) AND l.remaining > 0
    )
"""

_EXPIRE = """
    WITH {due}, draws AS (
        SELECT lot_id, member_id, take FROM (
            SELECT ld.id AS lot_id, ld.member_id,
                   least(ld.remaining, d.amount - (sum(ld.remaining) OVER w - ld.remaining)) AS take
            FROM lots_due ld JOIN due d ON d.member_id = ld.member_id
            WINDOW w AS (PARTITION BY ld.member_id ORDER BY ld.expires_date NULLS LAST, ld.id)
        ) x WHERE take > 0
    ), t AS (
        INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, memo, posted_at)
        SELECT account_id, :expired, amount, 'expiry', :event_at, :memo, coalesce(CAST(:posted_at AS timestamptz), now())
        FROM due WHERE amount > 0
        ORDER BY member_id
        RETURNING id, from_account_id, amount
    ), tm AS (
        SELECT t.id AS transfer_id, d.member_id, t.from_account_id, t.amount
        FROM t JOIN due d ON d.account_id = t.from_account_id
    ), e AS (
        INSERT INTO entries (transfer_id, account_id, amount)
        SELECT transfer_id, from_account_id, -amount FROM tm
        UNION ALL SELECT transfer_id, :expired, amount FROM tm
    ), drawn AS (
        INSERT INTO lot_draws (lot_id, transfer_id, amount)
        SELECT dr.lot_id, tm.transfer_id, dr.take FROM draws dr JOIN tm ON tm.member_id = dr.member_id
        ORDER BY dr.lot_id
    ), lots_left AS (
        UPDATE lots SET remaining = lots.remaining - dr.take FROM draws dr WHERE lots.id = dr.lot_id
    ), balances AS (
        UPDATE accounts SET balance = accounts.balance - tm.amount FROM tm WHERE accounts.id = tm.from_account_id
    ), record AS (
        INSERT INTO nightly_expiries (run_id, member_id, transfer_id, miles)
        SELECT :run, member_id, transfer_id, amount FROM tm
    )
    SELECT count(*) AS members, coalesce(sum(amount), 0) AS miles, (SELECT count(*) FROM draws) AS lots
    FROM tm
"""

_LOTS_WARNINGS = """
    WITH m AS MATERIALIZED (
        SELECT m.id, m.tier, m.tier_valid_until, a.balance
        FROM members m JOIN accounts a ON a.member_id = m.id WHERE m.id = ANY(CAST(:ids AS bigint[]))
    ), per_date AS (
        SELECT member_id, expires_date, sum(remaining) AS miles FROM lots
        WHERE member_id = ANY(CAST(:ids AS bigint[])) AND remaining > 0 AND expires_date <= :w1
        GROUP BY member_id, expires_date
    ), held AS (
        SELECT member_id, sum(remaining) AS miles FROM lots
        WHERE member_id IN (SELECT member_id FROM per_date WHERE expires_date >= :w0) AND remaining > 0
        GROUP BY member_id
    ), due AS (  -- a debt no lot carries uses up the soonest-expiring lots first: what is left goes
        SELECT p.member_id, p.expires_date,
               least(p.miles, sum(p.miles) OVER (PARTITION BY p.member_id ORDER BY p.expires_date)
                              - greatest(h.miles - m.balance, 0)) AS miles,
               m.tier, m.tier_valid_until
        FROM per_date p JOIN held h ON h.member_id = p.member_id JOIN m ON m.id = p.member_id
    ), w AS (
        INSERT INTO expiry_warnings (member_id, expires_date, miles, run_id)
        SELECT member_id, expires_date, miles, :run FROM due
        WHERE expires_date BETWEEN :w0 AND :w1 AND miles > 0
          AND (tier <> ALL(CAST(:exempt AS text[])) OR tier_valid_until < expires_date)
        ORDER BY 1, 2
        ON CONFLICT (member_id, expires_date) DO NOTHING
        RETURNING 1
    ) SELECT count(*) FROM w
"""

_INACTIVITY_WARNINGS = """
    WITH w AS (
        INSERT INTO expiry_warnings (member_id, expires_date, miles, run_id)
        SELECT member_id, expires_date, miles, :run FROM (
            SELECT m.id AS member_id, a.balance - a.pending AS miles,
                   CAST(greatest(coalesce(m.last_activity_date, CAST(m.created_at AT TIME ZONE :tz AS date)),
                                 last.day) + make_interval(months => :months) AS date) AS expires_date
            FROM members m JOIN accounts a ON a.member_id = m.id
            CROSS JOIN LATERAL (  -- the last accrual or redemption (as the expiry itself reads it)
                SELECT max(CAST(t.event_at AT TIME ZONE :tz AS date)) AS day
                FROM entries e JOIN transfers t ON t.id = e.transfer_id
                WHERE e.account_id = a.id AND t.code = ANY(CAST(:activity AS text[]))
            ) last
            WHERE m.id = ANY(CAST(:ids AS bigint[])) AND a.balance - a.pending > 0
              AND m.tier <> ALL(CAST(:exempt AS text[]))
        ) x
        WHERE expires_date BETWEEN :w0 AND :w1 ORDER BY 1, 2
        ON CONFLICT (member_id, expires_date) DO NOTHING
        RETURNING 1
    ) SELECT count(*) FROM w
"""


def _start_of_day(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))


@dataclass(frozen=True)
class ExpiryCounts:
    members: int
    miles: int
    lots: int


class ExpiryRepository:
    def __init__(self, connection: Connection, programme: Programme, run_date: date) -> None:
        self.connection = connection
        self.policy = programme.expiry
        self.run_date = run_date
        self.params: dict[str, Any] = {
            "d": run_date,
            "exempt": exempt_tier_names(programme),
            "tz": programme.timezone,
            "months": self.policy.months,
        }
        if self.policy.kind is ExpiryKind.INACTIVITY:
            cutoff = inactivity_cutoff(run_date, self.policy.months)
            self.params |= {
                "cutoff": cutoff,
                "cutoff_at": _start_of_day(cutoff, programme.timezone),
                "activity": self.policy.activity_codes,
            }
        self.event_at: datetime = _start_of_day(run_date, programme.timezone)
        never = self.policy.kind is ExpiryKind.NEVER
        self.window = None if never else warning_window(run_date, self.policy.warning_days)
        if self.window is not None:
            self.params |= {"w0": self.window[0], "w1": self.window[1]}

    def candidates_sql(self) -> str:
        """Members with miles the run may expire (their lock is taken by the chunk)."""
        if self.policy.kind is ExpiryKind.NEVER:
            return "SELECT CAST(NULL AS bigint) AS member_id WHERE false"
        return _INACTIVITY_CANDIDATES if self.policy.kind is ExpiryKind.INACTIVITY else _LOTS_CANDIDATES

    def warning_candidates_sql(self) -> str | None:
        """Members with miles whose last good day is in the warning window."""
        if self.window is None:
            return None
        if self.policy.kind is ExpiryKind.INACTIVITY:
            return _INACTIVITY_WARNING_CANDIDATES
        return _LOTS_WARNING_CANDIDATES

    def expire(
        self, run_id: int, member_ids: list[int], expired_account_id: int, posted_at: datetime | None = None
    ) -> ExpiryCounts:
        """Expire what the policy says of these members (locked by this transaction). The caller adds
        the total to the `expired` account with `credit_expired_account`, as its last write."""
        if not member_ids or self.policy.kind is ExpiryKind.NEVER:
            return ExpiryCounts(0, 0, 0)
        due = _INACTIVITY_DUE if self.policy.kind is ExpiryKind.INACTIVITY else _LOTS_DUE
        row = self.connection.execute(
            text(_EXPIRE.format(due=due.strip())),
            self.params
            | {
                "ids": member_ids,
                "run": run_id,
                "expired": expired_account_id,
                "event_at": self.event_at,
                "memo": f"{self.policy.kind.value} policy, nightly run {self.run_date.isoformat()}",
                "posted_at": posted_at,
            },
        ).one()
        return ExpiryCounts(int(row.members), int(row.miles), int(row.lots))

    def credit_expired_account(self, expired_account_id: int, miles: int) -> None:
        if miles:
            self.connection.execute(
                text("UPDATE accounts SET balance = balance + :m WHERE id = :id"),
                {"m": miles, "id": expired_account_id},
            )

    def queue_warnings(self, run_id: int, member_ids: list[int]) -> int:
        """One warning per member and expiry date for miles whose last good day is in the window; a
        warning made before (by an earlier night, or a duplicate) is not made again."""
        if self.window is None or not member_ids:
            return 0
        sql = _INACTIVITY_WARNINGS if self.policy.kind is ExpiryKind.INACTIVITY else _LOTS_WARNINGS
        return int(
            self.connection.execute(
                text(sql),
                self.params | {"run": run_id, "ids": member_ids},
            ).scalar_one()
        )
