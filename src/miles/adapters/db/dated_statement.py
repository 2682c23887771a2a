"""The statement as the console shows it: one order, the date shown, newest first (a flight is dated by its
departure, so a claim posted today for last month's flight sits among last month's lines). Keyset paging
on (event_at, transfer id): the cursor is the last transfer shown, its date read back from the ledger."""

from __future__ import annotations

from sqlalchemy import Connection, Row, text

_QUERY = text(
    """
    SELECT t.id, t.code, e.amount, t.event_at, t.accrual_id, p.code AS promotion_code, p.name AS promotion_name,
           pa.partner, pa.activity_id AS partner_activity
    FROM entries e
    JOIN transfers t ON t.id = e.transfer_id
    LEFT JOIN promotions p ON p.id = t.promotion_id
    LEFT JOIN partner_activities pa ON pa.id = t.partner_activity_id
    WHERE e.account_id = :account
      AND (CAST(:before AS bigint) IS NULL
           OR (t.event_at, t.id) < (SELECT b.event_at, b.id FROM transfers b WHERE b.id = :before))
    ORDER BY t.event_at DESC, t.id DESC
    LIMIT :limit
    """
)


class DatedStatementRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def page(self, account_id: int, before: int | None, limit: int) -> list[Row]:  # type: ignore[type-arg]
        params = {"account": account_id, "before": before, "limit": limit}
        return list(self.connection.execute(_QUERY, params).all())
