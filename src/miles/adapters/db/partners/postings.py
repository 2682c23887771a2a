"""The nightly posting of pending partner miles whose pending period is over: for the chunk's members,
one statement moves the due activities to `posted` and writes their transfers, entries and lots.

Exactly once: only a `pending` row is moved (a reversal that cancelled it first wins; one that comes
after finds it posted and takes the miles back), and a second posting transfer of one activity breaks the
unique index on `transfers.partner_activity_id`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text

from miles.adapters.db.partners.activities import SETTLEMENT_MONTH

# the candidates of a night: members with pending activities due by the run date
DUE_CANDIDATES = "SELECT DISTINCT member_id FROM partner_activities WHERE status = 'pending' AND posts_on <= :partner_due_date"

_POST_DUE = text(
    f"""
    WITH due AS (
        UPDATE partner_activities a SET status = 'posted', posted_on = :run_date,
               posted_month = {SETTLEMENT_MONTH.format(day=":run_date", partner="a.partner")}
        WHERE a.member_id = ANY(:ids) AND a.status = 'pending' AND a.posts_on <= :run_date
        RETURNING a.id, a.member_id, a.miles, a.activity_date, a.credits, a.partner, a.kind
    ), acc AS (
        SELECT due.*, ac.id AS account_id FROM due JOIN accounts ac ON ac.member_id = due.member_id
    ), tr AS (
        INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, partner_activity_id,
                               posted_at)
        SELECT :source, account_id, miles, 'partner_accrual',
               CAST(activity_date AS timestamp) AT TIME ZONE :tz, id, coalesce(CAST(:posted_at AS timestamptz), now())
        FROM acc WHERE miles > 0 ORDER BY id
        RETURNING id, to_account_id, amount, partner_activity_id
    ), en AS (
        INSERT INTO entries (transfer_id, account_id, amount)
        SELECT id, :source, -amount FROM tr UNION ALL SELECT id, to_account_id, amount FROM tr
    ), lo AS (
        INSERT INTO lots (member_id, transfer_id, earned_date, expires_date, amount, remaining)
        SELECT acc.member_id, tr.id, acc.activity_date,
               CASE WHEN CAST(:lot_months AS int) IS NOT NULL
                    THEN CAST(date_trunc('month', acc.activity_date) + make_interval(months => :lot_months + 1)
                              - interval '1 day' AS date) END,
               tr.amount, tr.amount
        FROM tr JOIN acc ON acc.id = tr.partner_activity_id
    ), mu AS (
        UPDATE members m SET last_activity_date = greatest(m.last_activity_date, x.day)
        FROM (SELECT member_id, max(activity_date) AS day FROM due GROUP BY member_id) x
        WHERE m.id = x.member_id
    )
    SELECT account_id, miles, id, member_id, activity_date, credits, partner, kind FROM acc ORDER BY id
    """
)


@dataclass(frozen=True)
class PostedRow:
    id: int
    member_id: int
    account_id: int
    partner: str
    kind: str
    activity_date: date
    miles: int
    credits: dict[str, str] | None


@dataclass(frozen=True)
class Posted:
    rows: list[PostedRow]  # in activity id order

    @property
    def miles(self) -> int:
        return sum(r.miles for r in self.rows)

    def by_account(self) -> dict[int, int]:
        """Miles posted to each member account."""
        out: dict[int, int] = {}
        for r in self.rows:
            if r.miles:
                out[r.account_id] = out.get(r.account_id, 0) + r.miles
        return out


class PartnerPostingRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def post_due(
        self,
        member_ids: list[int],
        run_date: date,
        source_account_id: int,
        lot_months: int | None,
        timezone: str,
        posted_at: datetime | None = None,
    ) -> Posted:
        """Post the members' pending activities due by `run_date` (the members are locked by the caller)."""
        rows = self.connection.execute(
            _POST_DUE,
            {
                "ids": member_ids,
                "run_date": run_date,
                "source": source_account_id,
                "lot_months": lot_months,
                "tz": timezone,
                "posted_at": posted_at,
            },
        ).all()
        return Posted(
            [
                PostedRow(
                    int(r.id),
                    int(r.member_id),
                    int(r.account_id),
                    r.partner,
                    r.kind,
                    r.activity_date,
                    int(r.miles),
                    r.credits,
                )
                for r in rows
            ]
        )
