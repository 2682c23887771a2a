"""Reads for the agents' console: finding members by name or e-mail (prefix searches that the
text_pattern_ops indexes answer on millions of rows), and what the member page shows beyond the summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class MemberHit:
    member_number: str
    given_name: str
    family_name: str
    email: str
    tier: str


@dataclass(frozen=True)
class ExpiringLot:
    earned_date: date
    expires_date: date
    remaining: int


@dataclass(frozen=True)
class TierChangeRecord:
    from_tier: str
    to_tier: str
    valid_until: date | None
    reason: str
    created_at: datetime


_HIT = "SELECT member_number, given_name, family_name, email, tier FROM members"

# LIKE patterns: the user's text is escaped, so % and _ are literal
BY_EMAIL = text(f"{_HIT} WHERE lower(email) LIKE :p ESCAPE '\\' ORDER BY lower(email), id LIMIT :n")
BY_FAMILY = text(
    f"{_HIT} WHERE lower(family_name) LIKE :f ESCAPE '\\' "
    "ORDER BY lower(family_name), lower(given_name), id LIMIT :n"
)
BY_FULL_NAME = text(
    f"""{_HIT}
    WHERE (lower(family_name) LIKE :a ESCAPE '\\' AND lower(given_name) LIKE :b ESCAPE '\\')
       OR (lower(family_name) LIKE :b ESCAPE '\\' AND lower(given_name) LIKE :a ESCAPE '\\')
    ORDER BY lower(family_name), lower(given_name), id LIMIT :n
    """
)


def like_prefix(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


class MemberSearchRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def by_email_prefix(self, prefix: str, limit: int) -> list[MemberHit]:
        rows = self.connection.execute(BY_EMAIL, {"p": like_prefix(prefix), "n": limit})
        return [MemberHit(**r._mapping) for r in rows]

    def by_family_prefix(self, family: str, limit: int) -> list[MemberHit]:
        rows = self.connection.execute(BY_FAMILY, {"f": like_prefix(family), "n": limit})
        return [MemberHit(**r._mapping) for r in rows]

    def by_names(self, first: str, second: str, limit: int) -> list[MemberHit]:
        """Either word may be the family name: "Ada Lovelace" and "Lovelace Ada" both find her."""
        rows = self.connection.execute(
            BY_FULL_NAME, {"a": like_prefix(first), "b": like_prefix(second), "n": limit}
        )
        return [MemberHit(**r._mapping) for r in rows]

    def expiring_lots(self, member_id: int, until: date) -> list[ExpiringLot]:
        rows = self.connection.execute(
            text(
                "SELECT earned_date, expires_date, remaining FROM lots "
                "WHERE member_id = :m AND remaining > 0 AND expires_date <= :until "
                "ORDER BY expires_date, id"
            ),
            {"m": member_id, "until": until},
        )
        return [ExpiringLot(**r._mapping) for r in rows]

    def tier_history(self, member_id: int, limit: int) -> list[TierChangeRecord]:
        rows = self.connection.execute(
            text(
                "SELECT from_tier, to_tier, valid_until, reason, created_at FROM tier_changes "
                "WHERE member_id = :m ORDER BY id DESC LIMIT :n"
            ),
            {"m": member_id, "n": limit},
        )
        return [TierChangeRecord(**r._mapping) for r in rows]

    def transfer_memos(self, transfer_ids: list[int]) -> dict[int, str]:
        """What the statement says under a transfer: its memo (the goodwill reason), or its redemption."""
        if not transfer_ids:
            return {}
        rows = self.connection.execute(
            text(
                "SELECT id, coalesce(memo, 'redemption ' || redemption_id) AS memo FROM transfers "
                "WHERE id = ANY(:ids) AND (memo IS NOT NULL OR redemption_id IS NOT NULL)"
            ),
            {"ids": transfer_ids},
        )
        return {r.id: r.memo for r in rows}

    def accrual_flights(self, accrual_ids: list[int]) -> dict[int, str]:
        """A short description of each accrual's flight: "YY123 JFK-LHR 2026-10-01"."""
        if not accrual_ids:
            return {}
        rows = self.connection.execute(
            text(
                "SELECT id, marketing_carrier || flight_number || ' ' || origin || '-' || destination || ' ' "
                "|| departure_date::text || CASE WHEN channel = 'claim' THEN ' (claim)' ELSE '' END AS words "
                "FROM accruals WHERE id = ANY(:ids)"
            ),
            {"ids": accrual_ids},
        )
        return {r.id: r.words for r in rows}

    def redemption_ids(self, member_id: int, limit: int) -> list[int]:
        """The member's most recent award redemptions, newest first."""
        rows = self.connection.execute(
            text("SELECT id FROM redemptions WHERE member_id = :m ORDER BY id DESC LIMIT :n"),
            {"m": member_id, "n": limit},
        )
        return [int(r.id) for r in rows]
