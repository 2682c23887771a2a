"""Ledger vocabulary: programme accounts and transfer codes, with the words agents read."""

from __future__ import annotations

ACCRUAL_FLIGHT = "accrual-flight"
GOODWILL = "goodwill"
REDEMPTION_CLEARING = "redemption-clearing"
EXPIRED = "expired"
ACCRUAL_PARTNER = "accrual-partner"

TRANSFER_CODES: dict[str, str] = {
    "flight_accrual": "Miles for a flown coupon",
    "flight_accrual_reversal": "Flight miles taken back (refund or exchange)",
    "goodwill": "Goodwill miles",
    "redemption": "Award booked",
    "redemption_refund": "Award cancelled: miles returned",
    "cancellation_fee": "Award cancellation fee",
    "expiry": "Miles expired",
    "promotion_bonus": "Promotion bonus",
    "promotion_bonus_reversal": "Promotion bonus taken back (flight reversed)",
    "partner_accrual": "Partner miles",
    "partner_accrual_reversal": "Partner miles taken back (activity reversed)",
}


def describe(code: str) -> str:
    return TRANSFER_CODES.get(code, code.replace("_", " ").capitalize())
