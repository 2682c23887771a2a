"""Accruals (one per flown coupon, ever) and their reversals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, Row, text

from miles.domain.accrual import FlightCoupon, FlightEarning


@dataclass(frozen=True)
class AccrualRecord:
    id: int
    member_id: int
    member_number: str
    ticket_number: str
    coupon_number: int
    request_digest: str
    distance_miles: int
    base_miles: int
    tier_bonus_miles: int
    promotion_miles: int
    award_miles: int
    status_miles: int
    segments: int
    spend_usd: Decimal
    departure_year: int
    tier_after: str
    balance_after: int
    created_at: datetime


@dataclass(frozen=True)
class ReversalRecord:
    id: int
    accrual_id: int
    reason: str
    request_digest: str
    reversed_miles: int
    balance_after: int
    created_at: datetime


_COLUMNS = """
    a.id, a.member_id, m.member_number, a.ticket_number, a.coupon_number, a.request_digest,
    a.distance_miles, a.base_miles, a.tier_bonus_miles, a.promotion_miles, a.award_miles,
    a.status_miles, a.segments, a.spend_usd, extract(year FROM a.departure_date)::int AS departure_year,
    a.tier_after, a.balance_after, a.created_at
"""


_TYPES = {
    "member_id": "bigint",
    "ticket_number": "text",
    "coupon_number": "smallint",
    "request_digest": "text",
    "channel": "text",
    "marketing_carrier": "text",
    "operating_carrier": "text",
    "flight_number": "text",
    "origin": "text",
    "destination": "text",
    "departure_date": "date",
    "booking_class": "text",
    "fare_amount": "numeric",
    "fare_currency": "text",
    "distance_miles": "int",
    "base_miles": "int",
    "tier_bonus_miles": "int",
    "promotion_miles": "int",
    "award_miles": "int",
    "status_miles": "int",
    "segments": "smallint",
    "spend_usd": "numeric",
    "tier_before": "text",
    "tier_after": "text",
    "balance_after": "bigint",
}


def _record(row: Row) -> AccrualRecord:  # type: ignore[type-arg]
    return AccrualRecord(**row._mapping)


INSERT_COLUMNS = (
    "member_id, ticket_number, coupon_number, request_digest, channel, marketing_carrier, "
    "operating_carrier, flight_number, origin, destination, departure_date, booking_class, fare_amount, "
    "fare_currency, distance_miles, base_miles, tier_bonus_miles, promotion_miles, award_miles, "
    "status_miles, segments, spend_usd, tier_before, tier_after, balance_after"
)


def accrual_row(
    member_id: int,
    coupon: FlightCoupon,
    earning: FlightEarning,
    digest: str,
    channel: str,
    balance_after: int,
) -> tuple[object, ...]:
    return (
        member_id,
        coupon.ticket_number,
        coupon.coupon_number,
        digest,
        channel,
        coupon.marketing_carrier,
        coupon.operating_carrier,
        coupon.flight_number,
        coupon.origin,
        coupon.destination,
        coupon.departure_date,
        coupon.booking_class,
        coupon.fare_amount,
        coupon.fare_currency,
        earning.distance_miles,
        earning.base_miles,
        earning.tier_bonus_miles,
        earning.promotion_miles,
        earning.award_miles,
        earning.status_miles,
        earning.segments,
        earning.spend_usd,
        earning.tier_before.name,
        earning.tier_after.name,
        balance_after,
    )


class AccrualRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def find(self, ticket_number: str, coupon_number: int) -> AccrualRecord | None:
        row = self.connection.execute(
            text(
                f"SELECT {_COLUMNS} FROM accruals a JOIN members m ON m.id = a.member_id "
                "WHERE a.ticket_number = :t AND a.coupon_number = :c"
            ),
            {"t": ticket_number, "c": coupon_number},
        ).first()
        return None if row is None else _record(row)

    def find_many(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], AccrualRecord]:
        if not keys:
            return {}
        rows = self.connection.execute(
            text(
                f"""
                SELECT {_COLUMNS} FROM accruals a JOIN members m ON m.id = a.member_id
                JOIN unnest(CAST(:tickets AS text[]), CAST(:coupons AS smallint[])) AS k(t, c)
                  ON a.ticket_number = k.t AND a.coupon_number = k.c
                """
            ),
            {"tickets": [k[0] for k in keys], "coupons": [k[1] for k in keys]},
        )
        return {(r.ticket_number, r.coupon_number): _record(r) for r in rows}

    def get(self, accrual_id: int) -> AccrualRecord | None:
        row = self.connection.execute(
            text(f"SELECT {_COLUMNS} FROM accruals a JOIN members m ON m.id = a.member_id WHERE a.id = :id"),
            {"id": accrual_id},
        ).first()
        return None if row is None else _record(row)

    def add_many(self, rows: list[tuple[object, ...]]) -> dict[tuple[str, int], int]:
        """Insert accrual rows (see `accrual_row`); the ids of those recorded now, by coupon. A coupon
        recorded meanwhile by a concurrent request is left out of the answer."""
        if not rows:
            return {}
        names = INSERT_COLUMNS.split(", ")
        columns = list(zip(*rows, strict=True))
        params = {name: list(col) for name, col in zip(names, columns, strict=True)}
        casts = ", ".join(f"CAST(:{n} AS {_TYPES[n]}[])" for n in names)
        result = self.connection.execute(
            text(
                f"INSERT INTO accruals ({INSERT_COLUMNS}) SELECT * FROM unnest({casts}) "
                "ON CONFLICT (ticket_number, coupon_number) DO NOTHING "
                "RETURNING id, ticket_number, coupon_number"
            ),
            params,
        )
        return {(r.ticket_number, r.coupon_number): r.id for r in result}

    def transfer_of(self, accrual_id: int) -> int | None:
        value = self.connection.execute(
            text("SELECT id FROM transfers WHERE accrual_id = :a AND code = 'flight_accrual'"),
            {"a": accrual_id},
        ).scalar()
        return None if value is None else int(value)

    def reversal_of(self, accrual_id: int) -> ReversalRecord | None:
        row = self.connection.execute(
            text(
                "SELECT id, accrual_id, reason, request_digest, reversed_miles, balance_after, created_at "
                "FROM accrual_reversals WHERE accrual_id = :a"
            ),
            {"a": accrual_id},
        ).first()
        return None if row is None else ReversalRecord(**row._mapping)

    def add_reversal(
        self, accrual_id: int, reason: str, digest: str, reversed_miles: int, balance_after: int
    ) -> int | None:
        value = self.connection.execute(
            text(
                "INSERT INTO accrual_reversals (accrual_id, reason, request_digest, reversed_miles, "
                "balance_after) VALUES (:a, :r, :d, :m, :b) ON CONFLICT (accrual_id) DO NOTHING RETURNING id"
            ),
            {"a": accrual_id, "r": reason, "d": digest, "m": reversed_miles, "b": balance_after},
        ).scalar()
        return None if value is None else int(value)
