"""Partner activities: recorded (pending or posted at once) in one set-based statement, replays found by
the partner's activity ids, reversals, and what members see of them.

A posting is a `partner_accrual` transfer from the sharded `accrual-partner` account with its two entries
and its lot; the unique index on `transfers.partner_activity_id` makes a second posting of one activity
impossible whatever the code does. Account balances are noted with the ledger repository, which writes
them last. Every write that posts or reverses takes the settlement lock of its partners (shared), so a
month closing meanwhile (exclusive) never misses what lands in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Row, text


@dataclass(slots=True)  # not frozen: a file's chunk makes thousands, and a frozen init costs twice as much
class NewPartnerActivity:
    member_id: int
    account_id: int
    activity_id: str
    request_digest: str
    activity_date: date
    kind: str
    category: str | None
    nights: int | None
    days: int | None
    amount: Decimal | None
    currency: str | None
    amount_value: Decimal | None
    miles: int
    credits: str | None  # JSON of the qualifying credits, None without
    status: str  # pending | posted
    posts_on: date
    event_at: datetime  # the posting's instant (the start of the activity's day)
    lot_expires_date: date | None


@dataclass(frozen=True)
class StoredActivity:
    id: int
    partner: str
    activity_id: str
    member_id: int
    member_number: str
    request_digest: str
    activity_date: date
    kind: str
    category: str | None
    miles: int
    status: str
    posts_on: date
    posted_on: date | None
    reversed_on: date | None
    reversal_digest: str | None
    reversal_reason: str | None
    created_at: datetime


_COLUMNS: list[tuple[str, str]] = [
    ("member_id", "int8"),
    ("account_id", "int8"),
    ("activity_id", "text"),
    ("request_digest", "text"),
    ("activity_date", "date"),
    ("kind", "text"),
    ("category", "text"),
    ("nights", "int2"),
    ("days", "int2"),
    ("amount", "numeric"),
    ("currency", "text"),
    ("amount_value", "numeric"),
    ("miles", "int8"),
    ("credits", "text"),
    ("status", "text"),
    ("posts_on", "date"),
    ("event_at", "timestamptz"),
    ("lot_expires_date", "date"),
]
if [name for name, _ in _COLUMNS] != [f.name for f in fields(NewPartnerActivity)]:
    raise AssertionError("_COLUMNS must list NewPartnerActivity's fields, in order")
_VALUES = attrgetter(*(name for name, _ in _COLUMNS))
# the rows of one `record`, copied in binary (a chunk of thousands of rows costs a few us a row), gone at commit
_ROWS_TABLE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS partner_activity_rows "
    f"(n int4, {', '.join(f'{n} {k}' for n, k in _COLUMNS)}) ON COMMIT DROP"
)
_COPY_ROWS = f"COPY partner_activity_rows (n, {', '.join(n for n, _ in _COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ["int4", *(k for _, k in _COLUMNS)]

# the first month a posting or reversal of `partner` on `day` may count in: its own, unless it is closed
SETTLEMENT_MONTH = """greatest(CAST(date_trunc('month', CAST({day} AS date)) AS date),
    (SELECT CAST(max(s.month) + interval '1 month' AS date) FROM partner_settlements s WHERE s.partner = {partner}))"""

_RECORD = f"""
WITH src AS (
    SELECT * FROM partner_activity_rows
), ins AS (
    INSERT INTO partner_activities (partner, activity_id, member_id, request_digest, channel, activity_date, kind,
        category, nights, days, amount, currency, amount_value, miles, credits, status, posts_on, recorded_on,
        posted_on, posted_month)
    SELECT %(partner)s::text, activity_id, member_id, request_digest, %(channel)s::text, activity_date, kind,
        category, nights, days, amount, currency, amount_value, miles, CAST(credits AS jsonb), status, posts_on,
        %(today)s::date,
        CASE WHEN status = 'posted' THEN %(today)s::date END,
        CASE WHEN status = 'posted' THEN {SETTLEMENT_MONTH.format(day="%(today)s::date", partner="%(partner)s::text")} END
    FROM src ORDER BY n
    ON CONFLICT DO NOTHING
    RETURNING id, activity_id
), j AS (
    SELECT src.*, ins.id AS pa_id FROM src JOIN ins USING (activity_id)
), tr AS (
    INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, partner_activity_id, posted_at)
    SELECT %(source)s::int8, account_id, miles, 'partner_accrual', event_at, pa_id, %(posted_at)s::timestamptz
    FROM j WHERE status = 'posted' AND miles > 0 ORDER BY n
    RETURNING id, to_account_id, amount, partner_activity_id
), en AS (
    INSERT INTO entries (transfer_id, account_id, amount)
    SELECT id, %(source)s::int8, -amount FROM tr UNION ALL SELECT id, to_account_id, amount FROM tr
), lo AS (
    INSERT INTO lots (member_id, transfer_id, earned_date, expires_date, amount, remaining)
    SELECT j.member_id, tr.id, j.activity_date, j.lot_expires_date, tr.amount, tr.amount
    FROM tr JOIN j ON j.pa_id = tr.partner_activity_id
), mu AS (
    UPDATE members m SET last_activity_date = greatest(m.last_activity_date, x.day)
    FROM (SELECT member_id, max(activity_date) AS day FROM j WHERE status = 'posted' GROUP BY member_id) x
    WHERE m.id = x.member_id AND (m.last_activity_date IS NULL OR m.last_activity_date < x.day)
)
SELECT activity_id, pa_id FROM j
"""
_STATEMENT = " ".join(_RECORD.split())

_STORED = """
    SELECT a.id, a.partner, a.activity_id, a.member_id, m.member_number, a.request_digest, a.activity_date,
           a.kind, a.category, a.miles, a.status, a.posts_on, a.posted_on, a.reversed_on, a.reversal_digest,
           a.reversal_reason, a.created_at
    FROM partner_activities a JOIN members m ON m.id = a.member_id
"""


def _stored(row: Row) -> StoredActivity:  # type: ignore[type-arg]
    return StoredActivity(**row._mapping)


class PartnerActivityRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def settlement_lock(self, partners: Iterable[str], exclusive: bool = False) -> None:
        """The settlement lock of each partner (sorted): shared by writes that post or reverse, exclusive
        for closing a month. Held to the end of the transaction."""
        fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        for partner in sorted(set(partners)):
            self.connection.execute(
                text(f"SELECT {fn}(hashtextextended('partner-settlement:' || :p, 0))"), {"p": partner}
            )

    def find(
        self, partner: str, activity_ids: Sequence[str], lock: bool = False
    ) -> dict[str, StoredActivity]:
        """The stored activities of these ids. One index probe per id whatever the table's statistics say
        (a file import grows the table faster than they follow: a plan scanning the partner's every activity
        for each chunk made an import quadratic)."""
        rows = self.connection.execute(
            text(
                "SELECT a.id, a.partner, a.activity_id, a.member_id, "
                "(SELECT m.member_number FROM members m WHERE m.id = a.member_id) AS member_number, "
                "a.request_digest, a.activity_date, a.kind, a.category, a.miles, a.status, a.posts_on, "
                "a.posted_on, a.reversed_on, a.reversal_digest, a.reversal_reason, a.created_at "
                "FROM unnest(CAST(:ids AS text[])) AS k(activity_id) CROSS JOIN LATERAL ("
                "SELECT * FROM partner_activities x WHERE x.partner = :p AND x.activity_id = k.activity_id "
                "LIMIT 1"  # never pulled up into a join: a probe of the unique index per id
                + (" FOR UPDATE" if lock else "")
                + ") a"
            ),
            {"p": partner, "ids": list(activity_ids)},
        )
        return {r.activity_id: _stored(r) for r in rows}

    def record(
        self,
        partner: str,
        channel: str,
        today: date,
        source_account_id: int,
        rows: list[NewPartnerActivity],
        posted_at: datetime,
    ) -> dict[str, int]:
        """Insert the activities, posting those due; the new rows' ids by activity id (one recorded meanwhile
        by a concurrent request is missing)."""
        if not rows:
            return {}
        params: dict[str, Any] = {
            "partner": partner,
            "channel": channel,
            "today": today,
            "source": source_account_id,
            "posted_at": posted_at,
        }
        raw = self.connection.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.execute(_ROWS_TABLE)
            cursor.execute("DELETE FROM partner_activity_rows")  # a record before in the same transaction
            with cursor.copy(_COPY_ROWS) as copy:
                copy.set_types(_COPY_TYPES)
                for n, row in enumerate(rows):
                    copy.write_row((n, *_VALUES(row)))
            cursor.execute(_STATEMENT, params)
            return {activity_id: pa_id for activity_id, pa_id in cursor.fetchall()}

    def cancel(self, activity_pk: int, today: date, reason: str | None, digest: str) -> None:
        """A pending activity reversed before it posted: it never will."""
        self.connection.execute(
            text(
                "UPDATE partner_activities SET status = 'cancelled', reversed_on = :d, reversal_reason = :r, "
                "reversal_digest = :g WHERE id = :id AND status = 'pending'"
            ),
            {"id": activity_pk, "d": today, "r": reason, "g": digest},
        )

    def mark_reversed(
        self, activity_pk: int, partner: str, today: date, reason: str | None, digest: str
    ) -> None:
        self.connection.execute(
            text(
                "UPDATE partner_activities SET status = 'reversed', reversed_on = :d, reversal_reason = :r, "
                "reversal_digest = :g, reversal_month = "
                + SETTLEMENT_MONTH.format(day=":d", partner=":p")
                + " WHERE id = :id AND status = 'posted'"
            ),
            {"id": activity_pk, "d": today, "r": reason, "g": digest, "p": partner},
        )

    def posting_transfer(self, activity_pk: int) -> int | None:
        return self.connection.execute(
            text(
                "SELECT id FROM transfers WHERE partner_activity_id = :a AND reverses_transfer_id IS NULL "
                "AND promotion_id IS NULL"
            ),
            {"a": activity_pk},
        ).scalar_one_or_none()

    def miles_by_day(self, partner: str, pairs: list[tuple[int, date]]) -> dict[tuple[int, date], int]:
        """The miles of the partner's activities of each (member, activity date) pair (cancelled and
        reversed ones too: what a partner reports counts against the day's limit whatever became of it),
        an index probe per pair."""
        if not pairs:
            return {}
        rows = self.connection.execute(
            text(
                "SELECT k.member_id, k.day AS activity_date, s.miles "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:days AS date[])) AS k(member_id, day) "
                "CROSS JOIN LATERAL (SELECT sum(a.miles) AS miles FROM partner_activities a "
                "WHERE a.member_id = k.member_id AND a.activity_date = k.day AND a.partner = :p) s "
                "WHERE s.miles IS NOT NULL"
            ),
            {"ids": [m for m, _ in pairs], "days": [d for _, d in pairs], "p": partner},
        )
        return {(int(r.member_id), r.activity_date): int(r.miles) for r in rows}

    def of_member(self, member_id: int, limit: int) -> list[StoredActivity]:
        """The member's latest activities, newest first."""
        rows = self.connection.execute(
            text(_STORED + " WHERE a.member_id = :m ORDER BY a.id DESC LIMIT :limit"),
            {"m": member_id, "limit": limit},
        )
        return [_stored(r) for r in rows]


def credits_json(credits: dict[str, Decimal]) -> str | None:
    return json.dumps({k: str(v) for k, v in credits.items()}, sort_keys=True) if credits else None
