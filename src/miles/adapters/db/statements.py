"""Reading the ledger for a statement: entries of one account joined with their transfers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, text

_QUERY = text(
    """
    SELECT t.id, t.code, e.amount, t.event_at, t.created_at, t.accrual_id, other.code AS counterparty,
           p.code AS promotion_code, p.name AS promotion_name,
           pa.partner, pa.activity_id AS partner_activity
    FROM entries e
    JOIN transfers t ON t.id = e.transfer_id
    LEFT JOIN promotions p ON p.id = t.promotion_id
    LEFT JOIN partner_activities pa ON pa.id = t.partner_activity_id
    JOIN accounts other ON other.id = CASE WHEN t.from_account_id = e.account_id
                                           THEN t.to_account_id ELSE t.from_account_id END
    WHERE e.account_id = :account
      AND (CAST(:before AS bigint) IS NULL OR e.transfer_id < :before)
      AND (CAST(:since AS timestamptz) IS NULL OR t.event_at >= :since)
      AND (CAST(:until AS timestamptz) IS NULL OR t.event_at < :until)
    ORDER BY e.transfer_id DESC
    LIMIT :limit
    """
)


class StatementRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def page(
        self, account_id: int, before: int | None, since: datetime | None, until: datetime | None, limit: int
    ) -> list[Row]:  # type: ignore[type-arg]
        params = {"account": account_id, "before": before, "since": since, "until": until, "limit": limit}
        return list(self.connection.execute(_QUERY, params).all())
