"""Partner settlements: a month's figures from the activities (posted and reversed in it), the closed
months (append-only), and the lines of a partner's statement, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from psycopg import sql
from sqlalchemy import Connection, Row, text


@dataclass(frozen=True)
class MonthFigures:
    activities: int
    miles_issued: int
    miles_reversed: int


@dataclass(frozen=True)
class ClosedMonth:
    partner: str
    month: date
    activities: int
    miles_issued: int
    miles_reversed: int
    net_miles: int
    price_per_mile: Decimal
    currency: str
    amount_due: Decimal
    closed_at: datetime
    closed_by: str


_FIGURES = text(
    """
    SELECT count(*) AS activities,
           coalesce(sum(miles) FILTER (WHERE posted_month = :m), 0) AS issued,
           coalesce(sum(miles) FILTER (WHERE reversal_month = :m), 0) AS reversed
    FROM partner_activities
    WHERE partner = :p AND (posted_month = :m OR reversal_month = :m)
    """
)

_LINES = text(
    """
    SELECT a.activity_id, m.member_number, a.activity_date, a.kind, a.category, a.posted_on, a.reversed_on,
           CASE WHEN a.posted_month = :m THEN a.miles ELSE 0 END AS issued,
           CASE WHEN a.reversal_month = :m THEN a.miles ELSE 0 END AS reversed
    FROM partner_activities a JOIN members m ON m.id = a.member_id
    WHERE a.partner = :p AND (a.posted_month = :m OR a.reversal_month = :m)
    ORDER BY a.id
    """
)


class SettlementRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def figures(self, partner: str, month: date) -> MonthFigures:
        row = self.connection.execute(_FIGURES, {"p": partner, "m": month}).one()
        return MonthFigures(int(row.activities), int(row.issued), int(row.reversed))

    def closed(self, partner: str, month: date) -> ClosedMonth | None:
        row = self.connection.execute(
            text("SELECT * FROM partner_settlements WHERE partner = :p AND month = :m"),
            {"p": partner, "m": month},
        ).first()
        return None if row is None else ClosedMonth(**row._mapping)

    def close(self, month: ClosedMonth) -> bool:
        """Record a closed month; False when it was closed already (by a concurrent close)."""
        row = self.connection.execute(
            text(
                """
                INSERT INTO partner_settlements (partner, month, activities, miles_issued, miles_reversed,
                    net_miles, price_per_mile, currency, amount_due, closed_at, closed_by)
                VALUES (:partner, :month, :activities, :miles_issued, :miles_reversed, :net_miles,
                    :price_per_mile, :currency, :amount_due, :closed_at, :closed_by)
                ON CONFLICT DO NOTHING RETURNING partner
                """
            ),
            month.__dict__,
        ).first()
        return row is not None

    def closed_since(self, since: date) -> list[ClosedMonth]:
        """Every partner's closed months from `since` on, oldest first."""
        rows = self.connection.execute(
            text("SELECT * FROM partner_settlements WHERE month >= :s ORDER BY month, partner"), {"s": since}
        )
        return [ClosedMonth(**r._mapping) for r in rows]

    def issued_by_month(self, since: date) -> list[Row]:  # type: ignore[type-arg]
        """(partner, month, miles issued, miles reversed) of every month from `since`, open ones included."""
        return list(
            self.connection.execute(
                text(
                    """
                    SELECT partner, month, sum(issued) AS issued, sum(reversed) AS reversed FROM (
                        SELECT partner, posted_month AS month, miles AS issued, 0 AS reversed
                        FROM partner_activities WHERE posted_month >= :s
                        UNION ALL
                        SELECT partner, reversal_month, 0, miles
                        FROM partner_activities WHERE reversal_month >= :s
                    ) x GROUP BY partner, month ORDER BY month, partner
                    """
                ),
                {"s": since},
            )
        )

    def snapshot(self) -> None:
        """Read everything that follows in this transaction from one snapshot (the first statement of it)."""
        self.connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def copy_lines(self, partner: str, month: date) -> Iterator[bytes]:
        """The month's activities of the partner as CSV (no header), in id order, as PostgreSQL's COPY
        writes it: millions of lines without a Python object per line."""
        query = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(
            sql.SQL(_LINES.text.replace(":p", "{p}").replace(":m", "{m}")).format(
                p=sql.Literal(partner), m=sql.Literal(month)
            )
        )
        raw = self.connection.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(query) as copy:
            for block in copy:
                yield bytes(block)
