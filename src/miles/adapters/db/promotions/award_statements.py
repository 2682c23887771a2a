"""The statements of the promotion awards' repository: the desk's state read in one round trip, and the one
statement that writes a request's bonuses (transfers, entries, lots, awards, challenge segments, members'
use and budgets), its arrays sent in binary."""

from __future__ import annotations

from sqlalchemy import text

# binary parameters (%b): thousands of awards go over without text quoting; positional, in this order
RECORD_PARAMS = (
    ("promotion", "int8"),
    ("member", "int8"),
    ("account", "int8"),
    ("source", "int8"),
    ("accrual", "int8"),
    ("year", "int2"),
    ("miles", "int8"),
    ("metric", "text"),
    ("amount", "numeric"),
    ("event_at", "timestamptz"),
    ("earned", "date"),
    ("expires", "date"),
    ("partner_activity", "int8"),
    ("posted_at", "timestamptz"),  # a scalar (the unit of work's instant), where the transfers take it
    ("seg_promotion", "int8"),
    ("seg_accrual", "int8"),
    ("seg_member", "int8"),
    ("seg_completed", "bool"),
    ("use_promotion", "int8"),
    ("use_member", "int8"),
    ("use_registered", "date"),
    ("use_miles", "int8"),
    ("use_times", "int4"),
    ("use_segments", "int4"),
    ("use_runs", "int4"),
    ("spend_promotion", "int8"),
    ("spend_miles", "int8"),
)
RECORD = " ".join(
    """
    WITH src AS (
        SELECT * FROM unnest({arrays})
            WITH ORDINALITY AS s(promotion_id, member_id, account_id, source_id, accrual_id, birthday_year, miles,
                                 metric, amount, event_at, earned_date, expires_date, partner_activity_id, n)
    ), tr AS (
        INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, accrual_id, promotion_id,
                               partner_activity_id, posted_at)
        SELECT source_id, account_id, miles, 'promotion_bonus', event_at, accrual_id, promotion_id,
               partner_activity_id, coalesce({posted_at}, now())
        FROM src WHERE miles > 0 ORDER BY n
        RETURNING id, from_account_id, to_account_id, amount, accrual_id, promotion_id, partner_activity_id
    ), j AS (
        SELECT src.*, tr.id AS transfer_id FROM src LEFT JOIN tr
            ON tr.promotion_id = src.promotion_id AND tr.to_account_id = src.account_id
           AND tr.accrual_id IS NOT DISTINCT FROM src.accrual_id
           AND tr.partner_activity_id IS NOT DISTINCT FROM src.partner_activity_id
    ), en AS (
        INSERT INTO entries (transfer_id, account_id, amount)
        SELECT id, from_account_id, -amount FROM tr UNION ALL SELECT id, to_account_id, amount FROM tr
    ), lo AS (
        INSERT INTO lots (member_id, transfer_id, earned_date, expires_date, amount, remaining)
        SELECT member_id, transfer_id, earned_date, expires_date, miles, miles FROM j WHERE transfer_id IS NOT NULL
    ), aw AS (
        INSERT INTO promotion_awards (promotion_id, member_id, transfer_id, accrual_id, birthday_year, miles,
                                      metric, amount, event_at, partner_activity_id)
        SELECT promotion_id, member_id, transfer_id, accrual_id, birthday_year, miles, metric, amount, event_at,
               partner_activity_id
        FROM j ORDER BY n
    ), sg AS (
        INSERT INTO promotion_segments (promotion_id, accrual_id, member_id, completed)
        SELECT * FROM unnest({segments})
    ), us AS (
        INSERT INTO promotion_members (promotion_id, member_id, registered_on, miles, times, segments, runs)
        SELECT * FROM unnest({use}) ORDER BY 2, 1
        ON CONFLICT (member_id, promotion_id) DO UPDATE
        SET miles = excluded.miles, times = excluded.times, segments = excluded.segments, runs = excluded.runs
    ), lk AS (
        SELECT p.id, s.miles FROM promotions p JOIN unnest({spend}) AS s(id, miles) ON s.id = p.id
        WHERE p.budget_miles IS NOT NULL ORDER BY p.id FOR NO KEY UPDATE OF p
    )
    UPDATE promotions p SET budget_spent = p.budget_spent + lk.miles FROM lk WHERE p.id = lk.id
    """.format(
        arrays=", ".join(f"%b::{kind}[]" for _, kind in RECORD_PARAMS[:13]),
        segments=", ".join(f"%b::{kind}[]" for _, kind in RECORD_PARAMS[14:18]),
        use=", ".join(f"%b::{kind}[]" for _, kind in RECORD_PARAMS[18:25]),
        spend=", ".join(f"%b::{kind}[]" for _, kind in RECORD_PARAMS[25:]),
        posted_at="%b::timestamptz",
    ).split()
)


_BUDGETS_LEFT = """
    SELECT 1 AS kind, id AS promotion_id, NULL AS member_id, NULL AS registered_on,
           budget_miles - budget_spent AS miles, 0 AS times, 0 AS segments, 0 AS runs
    FROM promotions WHERE id = ANY(:b) AND budget_miles IS NOT NULL
"""
DESK_STATE = text(
    """
    SELECT 0 AS kind, promotion_id, member_id, registered_on, miles, times, segments, runs
    FROM promotion_members WHERE member_id = ANY(:m) AND promotion_id = ANY(:p)
    UNION ALL"""
    + _BUDGETS_LEFT
    + """UNION ALL
    SELECT 2, NULL, m, NULL, 0, 0, 0, 0 FROM unnest(CAST(:e AS bigint[])) m
    WHERE EXISTS (SELECT 1 FROM accruals a WHERE a.member_id = m AND a.base_miles > 0)
    """
)
DESK_STATE_OF_ONE = text(
    """
    SELECT 0 AS kind, promotion_id, member_id, registered_on, miles, times, segments, runs
    FROM promotion_members WHERE member_id = :m1 AND promotion_id = ANY(:p)
    UNION ALL"""
    + _BUDGETS_LEFT
    + """UNION ALL
    SELECT 2, NULL, CAST(:m1 AS bigint), NULL, 0, 0, 0, 0
    WHERE CAST(:earning AS boolean) AND EXISTS (SELECT 1 FROM accruals a WHERE a.member_id = :m1 AND a.base_miles > 0)
    """
)
