"""Recording accruals in one statement: the accrual rows, their transfers with both entries, the earn
lots, the status credits with their period's totals, the tier history and the members' standing.

The arrays go over in PostgreSQL's binary format (no text quoting of ten thousand values), and the
whole write is one round trip, whether it carries one coupon or ten thousand. Account balances are
not touched here: the ledger repository applies them last, in account-id order, before commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Connection

from miles.adapters.db.standing import APPLY_STANDING, StandingUpdate


@dataclass(frozen=True)
class NewAccrual:
    member_id: int
    account_id: int
    ticket_number: str
    coupon_number: int
    request_digest: str
    channel: str
    marketing_carrier: str
    operating_carrier: str
    flight_number: str
    origin: str
    destination: str
    departure_date: date
    booking_class: str
    fare_amount: Decimal | None
    fare_currency: str | None
    distance_miles: int
    base_miles: int
    tier_bonus_miles: int
    promotion_miles: int
    award_miles: int
    credits: list[Decimal]  # per qualifying metric, in the programme's order
    fare_value: Decimal
    period_start: date  # the qualification period credited
    tier_before: str
    tier_after: str
    tier_valid_until: date | None
    tier_change_reason: str | None
    balance_after: int
    event_at: datetime
    lot_expires_date: date | None


_COLUMNS: list[tuple[str, str]] = [
    ("member_id", "int8"),
    ("account_id", "int8"),
    ("ticket_number", "text"),
    ("coupon_number", "int2"),
    ("request_digest", "text"),
    ("channel", "text"),
    ("marketing_carrier", "text"),
    ("operating_carrier", "text"),
    ("flight_number", "text"),
    ("origin", "text"),
    ("destination", "text"),
    ("departure_date", "date"),
    ("booking_class", "text"),
    ("fare_amount", "numeric"),
    ("fare_currency", "text"),
    ("distance_miles", "int4"),
    ("base_miles", "int4"),
    ("tier_bonus_miles", "int4"),
    ("promotion_miles", "int4"),
    ("award_miles", "int4"),
    ("fare_value", "numeric"),
    ("period_start", "date"),
    ("tier_before", "text"),
    ("tier_after", "text"),
    ("tier_valid_until", "date"),
    ("tier_change_reason", "text"),
    ("balance_after", "int8"),
    ("event_at", "timestamptz"),
    ("lot_expires_date", "date"),
]

_NAMES = ", ".join(name for name, _ in _COLUMNS)
# a coupon's credits are an array: many coupons send them as one flat array, `width` values each
# the new accrual's fields that go elsewhere than its own row (transfer, lot, status credit, tier history)
_NOT_IN_ACCRUALS = {
    "account_id",
    "tier_valid_until",
    "tier_change_reason",
    "event_at",
    "lot_expires_date",
}
ACCRUAL_COLUMNS = (*(name for name, _ in _COLUMNS if name not in _NOT_IN_ACCRUALS), "credits")
_STANDING = "id, tier, valid_until, lifetime_tier, delta, activity, period"
_STANDING_PARAMS = "%(u_id)b::int8{0}, %(u_tier)b::text{0}, %(u_valid)b::date{0}, %(u_lifetime)b::text{0}, \
%(u_delta)b::numeric{0}, %(u_activity)b::date{0}, %(u_period)b::date{0}"
# a coupon's credits go over as one bigint of cents per metric (`c0`, `c1`, ...: no numeric to encode),
# and become the row's `credits` array in the statement; the statement is made once per metric count


def _many(width: int) -> tuple[str, str]:
    """Many coupons: one array per column."""
    cents = [f"c{i}" for i in range(width)]
    arrays = [f"%({name})b::{kind}[]" for name, kind in _COLUMNS] + [f"%({c})b::int8[]" for c in cents]
    return (
        "SELECT s.*, {} AS credits FROM unnest({}) WITH ORDINALITY AS s({}, {}, n)".format(
            _credits_array(cents, "s."), ", ".join(arrays), _NAMES, ", ".join(cents)
        ),
        f"unnest({_STANDING_PARAMS.format('[]')}) AS u({_STANDING})",
    )


def _one(width: int) -> tuple[str, str]:
    """One coupon: scalars (no arrays to build and send)."""
    cents = [f"%(c{i})b::int8" for i in range(width)]
    return (
        "SELECT {}, 1::bigint AS n, {} AS credits".format(
            ", ".join(f"%({name})b::{kind} AS {name}" for name, kind in _COLUMNS), _credits_array(cents, "")
        ),
        f"(VALUES ({_STANDING_PARAMS.format('')})) AS u({_STANDING})",
    )


def _credits_array(cents: list[str], prefix: str) -> str:
    return "CAST(ARRAY[{}] AS numeric(16,2)[])".format(", ".join(f"{prefix}{c} * 0.01" for c in cents))


# `ON CONFLICT DO NOTHING` names no key: the accruals' one key besides the id is (ticket_number,
# coupon_number), and the statement must stay under psycopg's 4,096 bytes (see _compact). The flight
# transfer carries the award miles but the promotion miles, which are transfers of their own.
_RECORD = """
WITH src AS (
    {src}
), acc AS (
    INSERT INTO accruals ({accrual_columns})
    SELECT {accrual_columns}
    FROM src ORDER BY n
    ON CONFLICT DO NOTHING
    RETURNING id, ticket_number, coupon_number
), j AS (
    SELECT src.*, acc.id AS accrual_id FROM src JOIN acc USING (ticket_number, coupon_number)
), tr AS (
    INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, accrual_id, posted_at)
    SELECT %(source)s, account_id, award_miles-promotion_miles, 'flight_accrual', event_at, accrual_id,
           %(posted_at)s
    FROM j WHERE award_miles > promotion_miles ORDER BY n
    RETURNING id, to_account_id, amount, accrual_id
), en AS (
    INSERT INTO entries (transfer_id, account_id, amount)
    SELECT id, %(source)s, -amount FROM tr UNION ALL SELECT id, to_account_id, amount FROM tr
), lo AS (
    INSERT INTO lots (member_id, transfer_id, earned_date, expires_date, amount, remaining)
    SELECT j.member_id, tr.id, j.departure_date, j.lot_expires_date, tr.amount, tr.amount
    FROM tr JOIN j ON j.accrual_id = tr.accrual_id
), sc AS (
    INSERT INTO status_credits (member_id, period_start, metrics, code, accrual_id, event_at)
    SELECT member_id, period_start, credits, 'flight', accrual_id, event_at
    FROM j WHERE {any_credit}
), qt AS (
    INSERT INTO qualifying_totals AS q (member_id, period_start, metrics)
    SELECT member_id, period_start, {sums}
    FROM j GROUP BY member_id, period_start ORDER BY member_id, period_start
    ON CONFLICT (member_id, period_start) DO UPDATE SET metrics = {added}
), tc AS (
    INSERT INTO tier_changes (member_id, from_tier, to_tier, valid_until, reason, accrual_id)
    SELECT member_id, tier_before, tier_after, tier_valid_until, tier_change_reason, accrual_id
    FROM j WHERE tier_change_reason IS NOT NULL ORDER BY n
), mu AS ({apply_standing})
SELECT ticket_number, coupon_number, accrual_id FROM j
"""


def _compact(sql: str) -> tuple[str, tuple[str, ...]]:
    """The statement with its whitespace squeezed and positional placeholders, and the parameter names in
    their order. psycopg parses a statement's placeholders again on every execution unless it is at most
    4,096 bytes with at most 50 parameters (then the parse is cached); written out readably with named
    placeholders, this one is longer."""
    names = tuple(re.findall(r"%\((\w+)\)[sb]", sql))
    return " ".join(re.sub(r"%\(\w+\)([sb])", r"%\1", sql).split()), names


def _record_statement(width: int, src: str, standing: str) -> tuple[str, tuple[str, ...]]:
    apply_standing = APPLY_STANDING.format(standing=standing)
    positions = range(1, width + 1)
    return _compact(
        _RECORD.format(
            src=src,
            apply_standing=apply_standing,
            accrual_columns=", ".join(ACCRUAL_COLUMNS),
            any_credit=" OR ".join(f"credits[{i}] > 0" for i in positions) or "false",
            sums="CAST(ARRAY[{}] AS numeric(16,2)[])".format(
                ", ".join(f"sum(credits[{i}])" for i in positions)
            ),
            added="CAST(ARRAY[{}] AS numeric(16,2)[])".format(
                ", ".join(f"coalesce(q.metrics[{i}],0)+excluded.metrics[{i}]" for i in positions)
            ),
        )
    )


@cache
def record_statement(width: int, many: bool) -> tuple[str, tuple[str, ...]]:
    """The statement recording coupons whose credits hold `width` metrics (made once per width)."""
    return _record_statement(width, *(_many(width) if many else _one(width)))


def _cents(value: Decimal) -> int:
    return int(value * 100)


def record_accruals(
    connection: Connection,
    source_account_id: int,
    rows: list[NewAccrual],
    standing: list[StandingUpdate],
    posted_at: datetime,
) -> dict[tuple[str, int], int]:
    """The new accrual ids by coupon; a coupon recorded meanwhile by a concurrent request is missing."""
    if not rows:
        return {}
    params: dict[str, Any]
    if len(rows) == 1 and len(standing) == 1:
        [row], [u] = rows, standing
        statement, order = record_statement(len(row.credits), False)
        params = {name: getattr(row, name) for name, _ in _COLUMNS}
        params |= {f"c{i}": _cents(value) for i, value in enumerate(row.credits)}
        params |= {
            "u_id": u.member_id,
            "u_tier": u.tier,
            "u_valid": u.tier_valid_until,
            "u_lifetime": u.lifetime_tier,
            "u_delta": u.lifetime_delta,
            "u_activity": u.activity_date,
            "u_period": u.period_start,
        }
    else:
        width = len(rows[0].credits)
        statement, order = record_statement(width, True)
        params = {name: [getattr(r, name) for r in rows] for name, _ in _COLUMNS}
        params |= {f"c{i}": [_cents(r.credits[i]) for r in rows] for i in range(width)}
        params |= {
            "u_id": [u.member_id for u in standing],
            "u_tier": [u.tier for u in standing],
            "u_valid": [u.tier_valid_until for u in standing],
            "u_lifetime": [u.lifetime_tier for u in standing],
            "u_delta": [u.lifetime_delta for u in standing],
            "u_activity": [u.activity_date for u in standing],
            "u_period": [u.period_start for u in standing],
        }
    params["source"] = source_account_id
    params["posted_at"] = posted_at
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor(binary=True) as cursor:
        cursor.execute(statement, [params[name] for name in order])
        return {(t, c): a for t, c, a in cursor.fetchall()}
