"""Giving miles back to the lots a debit drew from (a cancelled award): `lots.remaining` goes up again
and `lot_refunds` records each give-back against the draw it undoes (lot_draws stays append-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class DrawnLot:
    lot_id: int
    expires_date: date | None
    amount: int  # drawn by the debit and not given back yet


class LotRefundRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def unrefunded_draws(self, draw_transfer_id: int) -> list[DrawnLot]:
        rows = self.connection.execute(
            text(
                """
                SELECT d.lot_id, l.expires_date,
                       d.amount - coalesce((SELECT sum(r.amount) FROM lot_refunds r
                                            WHERE r.draw_transfer_id = d.transfer_id AND r.lot_id = d.lot_id), 0)
                       AS amount
                FROM lot_draws d JOIN lots l ON l.id = d.lot_id
                WHERE d.transfer_id = :t
                ORDER BY l.expires_date NULLS LAST, d.lot_id
                """
            ),
            {"t": draw_transfer_id},
        )
        return [DrawnLot(r.lot_id, r.expires_date, r.amount) for r in rows if r.amount > 0]

    def refund(self, transfer_id: int, draw_transfer_id: int, refunds: list[tuple[int, int]]) -> None:
        """(lot id, miles) given back by the credit `transfer_id`, undoing the draws of `draw_transfer_id`."""
        if not refunds:
            return
        self.connection.execute(
            text(
                """
                WITH d AS (
                    SELECT unnest(CAST(:lots AS bigint[])) AS lot_id, unnest(CAST(:amounts AS bigint[])) AS amount
                ), u AS (
                    UPDATE lots SET remaining = lots.remaining + d.amount FROM d WHERE lots.id = d.lot_id
                )
                INSERT INTO lot_refunds (lot_id, transfer_id, draw_transfer_id, amount)
                SELECT lot_id, :t, :draw, amount FROM d
                """
            ),
            {
                "lots": [r[0] for r in refunds],
                "amounts": [r[1] for r in refunds],
                "t": transfer_id,
                "draw": draw_transfer_id,
            },
        )
