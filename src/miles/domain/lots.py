"""Earn lots: which lots a debit consumes (soonest-expiring first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from miles.domain.errors import InvalidInput


@dataclass(frozen=True)
class LotBalance:
    id: int
    expires_date: date | None
    remaining: int


def plan_draws(
    lots: Sequence[LotBalance], amount: int, first_lot_id: int | None = None
) -> tuple[list[tuple[int, int]], int]:
    """(lot id, miles) pairs that cover `amount`, and the shortfall no lot covers.

    `first_lot_id` is drawn before the others (a reversal takes back its own lot first); the rest go
    soonest-expiring first, lots that never expire last.
    """
    ordered = sorted(lots, key=lambda lot: (lot.id != first_lot_id, lot.expires_date or date.max, lot.id))
    draws: list[tuple[int, int]] = []
    left = amount
    for lot in ordered:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            draws.append((lot.id, take))
            left -= take
    return draws, left


def check_not_born_expired(expires_date: date | None, today: date, field: str = "departure_date") -> None:
    """No lot is ever opened already past its expiry: its miles would count as spendable while expired."""
    if expires_date is not None and expires_date < today:
        raise InvalidInput(
            f"miles earned then would have expired on {expires_date.isoformat()}",
            field=field,
            code="coupon_too_old",
        )
