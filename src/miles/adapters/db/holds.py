"""Holds: the pending side of the two-phase ledger. Placing a hold adds to the account's `pending`,
closing it (POSTED, VOIDED, EXPIRED) takes it off again; the ledger writes both with the balances just
before commit, so `accounts.pending` is always the sum of the account's OPEN holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from miles.adapters.db.ledger import LedgerRepository

OPEN, POSTED, VOIDED, EXPIRED = "OPEN", "POSTED", "VOIDED", "EXPIRED"


class HoldNotOpen(Exception):
    """A hold was closed twice: a saga step ran without checking the redemption's state."""


class HoldRepository:
    def __init__(self, connection: Connection, ledger: LedgerRepository) -> None:
        self.connection = connection
        self.ledger = ledger

    def place(
        self, account_id: int, redemption_id: int, amount: int, now: datetime, expires_at: datetime
    ) -> int:
        """A new OPEN hold; the caller has locked the member and checked the available miles."""
        hold_id = int(
            self.connection.execute(
                text(
                    "INSERT INTO holds (account_id, redemption_id, amount, expires_at, created_at) "
                    "VALUES (:a, :r, :amount, :expires, :now) RETURNING id"
                ),
                {"a": account_id, "r": redemption_id, "amount": amount, "expires": expires_at, "now": now},
            ).scalar_one()
        )
        self.ledger.add_pending_change(account_id, amount)
        return hold_id

    def close(self, hold_id: int, status: str, now: datetime, transfer_id: int | None = None) -> None:
        """Post (with the transfer that spends the miles), void or expire an OPEN hold."""
        row = self.connection.execute(
            text(
                "UPDATE holds SET status = :s, closed_at = :now, transfer_id = :t "
                "WHERE id = :id AND status = 'OPEN' RETURNING account_id, amount"
            ),
            {"id": hold_id, "s": status, "now": now, "t": transfer_id},
        ).first()
        if row is None:
            raise HoldNotOpen(f"hold {hold_id} is not open")
        self.ledger.add_pending_change(row.account_id, -row.amount)
