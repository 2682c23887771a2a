"""The expiry warnings outbox: rows made by the nightly run, claimed and marked by the relay."""

from __future__ import annotations

from sqlalchemy import Connection, text

from miles.adapters.notifier import ExpiryNotice


class ExpiryWarningRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(self, limit: int, after_id: int, max_attempts: int) -> list[ExpiryNotice]:
        """Unsent warnings after `after_id`, locked so that two relays never send the same one at once."""
        rows = self.connection.execute(
            text(
                """
                SELECT w.id AS warning_id, m.member_number, m.given_name, m.family_name, m.email, w.expires_date, w.miles
                FROM expiry_warnings w JOIN members m ON m.id = w.member_id
                WHERE w.sent_at IS NULL AND w.id > :after AND w.attempts < :max_attempts
                ORDER BY w.id LIMIT :n
                FOR UPDATE OF w SKIP LOCKED
                """
            ),
            {"after": after_id, "n": limit, "max_attempts": max_attempts},
        )
        return [ExpiryNotice(**r._mapping) for r in rows]

    def mark_sent(self, ids: list[int]) -> None:
        if ids:
            self.connection.execute(
                text(
                    "UPDATE expiry_warnings SET sent_at = now(), attempts = attempts + 1, last_error = NULL "
                    "WHERE id = ANY(:ids)"
                ),
                {"ids": ids},
            )

    def mark_failed(self, warning_id: int, error: str) -> None:
        self.connection.execute(
            text("UPDATE expiry_warnings SET attempts = attempts + 1, last_error = :e WHERE id = :id"),
            {"e": error[:500], "id": warning_id},
        )

    def unsent(self) -> int:
        return int(
            self.connection.execute(
                text("SELECT count(*) FROM expiry_warnings WHERE sent_at IS NULL")
            ).scalar_one()
        )
