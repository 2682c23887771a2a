"""The lots and the ledger as they stood at an instant, set-based: each earn month and source's miles (issued,
redeemed, expired, reversed), the members' balances, the debts no lot carries and the miles held for awards
in progress. "As they stood" is by the instant each transfer was posted (`posted_at`; rows written before it
existed by `created_at`), so a close reads the same figures whenever it runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from miles.domain.finance.close import LotLine
from miles.domain.finance.liability import (
    EXPIRING_CODES,
    REDEEMING_CODES,
    REVERSAL_OF,
    SOURCE_RULES,
    Source,
)


def _source_case() -> str:
    """The domain's SOURCE_RULES as a SQL CASE over the opening transfer `t` and its accrual `a`: the first
    rule that matches wins, as in miles.domain.finance.liability.source_of."""
    arms = []
    for rule in SOURCE_RULES:
        channel = "" if rule.channel is None else f" AND a.channel = '{rule.channel}'"
        arms.append(f"WHEN t.code = '{rule.code}'{channel} THEN '{rule.source.value}'")
    return "CASE " + " ".join(arms) + " END"


def _codes(codes: frozenset[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{code}'" for code in sorted(codes)) + "]"


_POSTED = "coalesce(t.posted_at, t.created_at) < :at"

# every lot posted by :at with what had been drawn from it and given back to it by then
_LOTS_AT = f"""
    opened AS MATERIALIZED (
        SELECT l.id, l.member_id, CAST(date_trunc('month', l.earned_date) AS date) AS earn_month,
               l.amount, {_source_case()} AS source
        FROM lots l JOIN transfers t ON t.id = l.transfer_id LEFT JOIN accruals a ON a.id = t.accrual_id
        WHERE {_POSTED}
    ), drawn AS (
        SELECT d.lot_id,
               sum(d.amount) FILTER (WHERE t.code = ANY({_codes(REDEEMING_CODES)})) AS redeemed,
               sum(d.amount) FILTER (WHERE t.code = ANY({_codes(EXPIRING_CODES)})) AS expired,
               sum(d.amount) FILTER (WHERE t.code = ANY({_codes(frozenset(REVERSAL_OF))})) AS reversed,
               sum(d.amount) AS total
        FROM lot_draws d JOIN transfers t ON t.id = d.transfer_id
        WHERE {_POSTED} GROUP BY d.lot_id
    ), refunded AS (
        SELECT r.lot_id, sum(r.amount) AS miles
        FROM lot_refunds r JOIN transfers t ON t.id = r.transfer_id
        WHERE {_POSTED} GROUP BY r.lot_id
    ), lot_at AS (
        SELECT o.id, o.member_id, o.earn_month, o.source, o.amount,
               coalesce(d.redeemed, 0) - coalesce(r.miles, 0) AS redeemed,
               coalesce(d.expired, 0) AS expired, coalesce(d.reversed, 0) AS reversed,
               coalesce(d.total, 0) - coalesce(d.redeemed, 0) - coalesce(d.expired, 0)
                   - coalesce(d.reversed, 0) AS unknown,
               o.amount - coalesce(d.total, 0) + coalesce(r.miles, 0) AS remaining
        FROM opened o LEFT JOIN drawn d ON d.lot_id = o.id LEFT JOIN refunded r ON r.lot_id = o.id
    )
"""

# the lots at :at, once per snapshot, in a temporary table the two reads below aggregate
_TAKE = text(
    f"""
    CREATE TEMPORARY TABLE finance_lot_at ON COMMIT DROP AS
    WITH {_LOTS_AT} SELECT member_id, earn_month, source, amount, redeemed, expired, reversed, unknown, remaining
    FROM lot_at
    """
)

_LINES = text(
    """
    SELECT earn_month, source, sum(amount) AS issued, sum(redeemed) AS redeemed, sum(expired) AS expired,
           sum(reversed) AS reversed, sum(unknown) AS unknown, count(*) FILTER (WHERE source IS NULL) AS unsourced
    FROM finance_lot_at GROUP BY earn_month, source ORDER BY earn_month, source
    """
)

_BALANCES = text(
    f"""
    WITH in_lots AS (
        SELECT member_id, sum(remaining) AS miles FROM finance_lot_at GROUP BY member_id
    ), balances AS (
        SELECT a.member_id, sum(e.amount) AS miles
        FROM entries e JOIN accounts a ON a.id = e.account_id JOIN transfers t ON t.id = e.transfer_id
        WHERE a.member_id IS NOT NULL AND {_POSTED}
        GROUP BY a.member_id
    )
    SELECT coalesce(sum(b.miles), 0) AS ledger_balance,
           coalesce(sum(greatest(coalesce(l.miles, 0) - coalesce(b.miles, 0), 0)), 0) AS debts,
           count(*) FILTER (WHERE coalesce(l.miles, 0) < coalesce(b.miles, 0)) AS members_above_lots,
           (SELECT coalesce(sum(h.amount), 0) FROM holds h
            WHERE h.created_at < :at AND (h.closed_at IS NULL OR h.closed_at >= :at)) AS held
    FROM in_lots l FULL JOIN balances b ON b.member_id = l.member_id
    """
)


class SnapshotError(Exception):
    """The lots hold something the finance rules do not place (a transfer code without a group)."""


@dataclass(frozen=True)
class Balances:
    ledger_balance: int  # the members' balances in the ledger
    debts: int  # per member, the lots' remaining miles beyond the balance, summed
    members_above_lots: int  # members whose balance exceeds their lots' remaining miles (should be none)
    held: int  # miles held for awards in progress (in the balances, not yet redeemed)


class SnapshotRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def repeatable(self) -> None:
        """Read everything that follows in this transaction from one snapshot (the first statement of it)."""
        self.connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    def take(self, at: datetime) -> None:
        """The lots as they stood at `at`, for the reads that follow (one snapshot at a time)."""
        self.connection.execute(text("DROP TABLE IF EXISTS finance_lot_at"))
        self.connection.execute(_TAKE, {"at": at})

    def lines(self, at: datetime) -> list[LotLine]:
        """Each earn month and source's lots as they stood at `at`."""
        self.take(at)
        lines = []
        for row in self.connection.execute(_LINES):
            if row.unknown or row.unsourced:
                raise SnapshotError(
                    f"lots of {row.earn_month:%Y-%m} have miles drawn or opened by transfers finance does not "
                    "place (see miles.domain.finance.liability)"
                )
            lines.append(
                LotLine(
                    earn_month=row.earn_month,
                    source=Source(row.source),
                    issued=int(row.issued),
                    redeemed=int(row.redeemed),
                    expired=int(row.expired),
                    reversed=int(row.reversed),
                )
            )
        return lines

    def balances(self, at: datetime) -> Balances:
        """The members' balances at `at`, with the debts and held miles; reads the lots `lines(at)` took."""
        row = self.connection.execute(_BALANCES, {"at": at}).one()
        return Balances(
            ledger_balance=int(row.ledger_balance),
            debts=int(row.debts),
            members_above_lots=int(row.members_above_lots),
            held=int(row.held),
        )
