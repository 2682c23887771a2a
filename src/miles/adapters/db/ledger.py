"""The ledger's writes: transfers with their two entries, lots, lot draws, and account balances.

Balance changes are gathered during the unit of work and written by `flush_balances` just before
commit, in one statement that locks the accounts in id order: the programme's hot accounts stay
locked only for that statement and the commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, text

from miles.domain.lots import LotBalance


@dataclass(frozen=True)
class Posting:
    from_account_id: int
    to_account_id: int
    amount: int
    code: str
    event_at: datetime
    accrual_id: int | None = None
    reverses_transfer_id: int | None = None
    memo: str | None = None
    redemption_id: int | None = None


_POST = text(
    """
    WITH t AS (
        INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, accrual_id,
                               reverses_transfer_id, memo, redemption_id)
        VALUES (:f, :t, :amount, :code, :event_at, :accrual_id, :reverses, :memo, :redemption_id)
        RETURNING id
    ), e AS (
        INSERT INTO entries (transfer_id, account_id, amount)
        SELECT id, :f, -CAST(:amount AS bigint) FROM t
        UNION ALL SELECT id, :t, :amount FROM t
    )
    SELECT id FROM t
    """
)

_POST_WITH_LOT = text(
    """
    WITH t AS (
        INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, accrual_id,
                               reverses_transfer_id, memo, redemption_id)
        VALUES (:f, :t, :amount, :code, :event_at, :accrual_id, :reverses, :memo, :redemption_id)
        RETURNING id
    ), e AS (
        INSERT INTO entries (transfer_id, account_id, amount)
        SELECT id, :f, -CAST(:amount AS bigint) FROM t
        UNION ALL SELECT id, :t, :amount FROM t
    ), l AS (
        INSERT INTO lots (member_id, transfer_id, earned_date, expires_date, amount, remaining)
        SELECT :member_id, id, :earned_date, :expires_date, :amount, :amount FROM t
    )
    SELECT id FROM t
    """
)


PROGRAMME_ACCOUNT_SHARDS = 64  # rows per programme account (migration 0007): see programme_account


class LedgerRepository:
    _account_ids: dict[str, list[int]] = {}

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._deltas: dict[int, int] = defaultdict(int)
        self._pending: dict[int, int] = defaultdict(int)  # holds placed (+) and closed (-)

    def programme_account(self, code: str, spread: int = 0) -> int:
        """The programme account `code`, on the shard that `spread` (a member's id, a chunk's number)
        falls on. A programme account is several rows (shards) of the same code, so that transactions
        for different members do not all wait on one row's lock until the other's commit is on disk."""
        shards = LedgerRepository._account_ids.get(code)
        if shards is None:
            shards = list(
                self.connection.execute(
                    text("SELECT id FROM accounts WHERE code = :code AND member_id IS NULL ORDER BY shard"),
                    {"code": code},
                ).scalars()
            )
            if not shards:
                raise LookupError(f"no programme account {code!r}")
            LedgerRepository._account_ids[code] = shards
        return shards[spread % len(shards)]

    def credited_account(self, transfer_id: int) -> int:
        """The account a transfer credited (its `to` side)."""
        return int(
            self.connection.execute(
                text("SELECT to_account_id FROM transfers WHERE id = :id"), {"id": transfer_id}
            ).scalar_one()
        )

    def post(
        self,
        posting: Posting,
        *,
        lot_member_id: int | None = None,
        earned_date: date | None = None,
        expires_date: date | None = None,
    ) -> int:
        params = {
            "f": posting.from_account_id,
            "t": posting.to_account_id,
            "amount": posting.amount,
            "code": posting.code,
            "event_at": posting.event_at,
            "accrual_id": posting.accrual_id,
            "reverses": posting.reverses_transfer_id,
            "memo": posting.memo,
            "redemption_id": posting.redemption_id,
        }
        statement = _POST
        if lot_member_id is not None:
            statement = _POST_WITH_LOT
            params |= {"member_id": lot_member_id, "earned_date": earned_date, "expires_date": expires_date}
        transfer_id = int(self.connection.execute(statement, params).scalar_one())
        self.add_balance_change(posting.from_account_id, -posting.amount)
        self.add_balance_change(posting.to_account_id, posting.amount)
        return transfer_id

    def post_accruals(self, code: str, postings: list[AccrualPosting]) -> None:
        _post_accruals(self, code, postings)

    def add_balance_change(self, account_id: int, delta: int) -> None:
        self._deltas[account_id] += delta

    def add_pending_change(self, account_id: int, delta: int) -> None:
        self._pending[account_id] += delta

    def flush_balances(self) -> None:
        """Apply the gathered balance and pending changes, one UPDATE per account in ascending id order,
        sent together in one round trip: the locks are taken in that order, so two writers never deadlock."""
        changes = {
            i: (self._deltas.get(i, 0), self._pending.get(i, 0))
            for i in self._deltas.keys() | self._pending.keys()
        }
        changes = {i: change for i, change in changes.items() if change != (0, 0)}
        self._deltas.clear()
        self._pending.clear()
        if not changes:
            return
        statements = "; ".join(
            f"UPDATE accounts SET balance = balance + ({int(changes[i][0])}), "
            f"pending = pending + ({int(changes[i][1])}) WHERE id = {int(i)}"
            for i in sorted(changes)
        )
        self.connection.exec_driver_sql(statements)

    def open_lots(self, member_id: int) -> list[LotBalance]:
        rows = self.connection.execute(
            text(
                "SELECT id, expires_date, remaining FROM lots WHERE member_id = :m AND remaining > 0 "
                "ORDER BY expires_date NULLS LAST, id"
            ),
            {"m": member_id},
        )
        return [LotBalance(r.id, r.expires_date, r.remaining) for r in rows]

    def draw_lots(self, transfer_id: int, draws: list[tuple[int, int]]) -> None:
        """Consume lots for a debit transfer: (lot id, miles) pairs, remembered in lot_draws."""
        if not draws:
            return
        self.connection.execute(
            text(
                """
                WITH d AS (
                    SELECT unnest(CAST(:lots AS bigint[])) AS lot_id,
                           unnest(CAST(:amounts AS bigint[])) AS amount
                ), u AS (
                    UPDATE lots SET remaining = lots.remaining - d.amount FROM d WHERE lots.id = d.lot_id
                )
                INSERT INTO lot_draws (lot_id, transfer_id, amount) SELECT lot_id, :transfer, amount FROM d
                """
            ),
            {"lots": [d[0] for d in draws], "amounts": [d[1] for d in draws], "transfer": transfer_id},
        )

    def lot_of_transfer(self, transfer_id: int) -> LotBalance | None:
        row = self.connection.execute(
            text("SELECT id, expires_date, remaining FROM lots WHERE transfer_id = :t"), {"t": transfer_id}
        ).first()
        return None if row is None else LotBalance(row.id, row.expires_date, row.remaining)


_POST_ACCRUALS = text(
    """
    WITH src AS (
        SELECT * FROM unnest(CAST(:f AS bigint[]), CAST(:t AS bigint[]), CAST(:amount AS bigint[]),
                             CAST(:event_at AS timestamptz[]), CAST(:accrual AS bigint[]),
                             CAST(:member AS bigint[]), CAST(:earned AS date[]), CAST(:expires AS date[]))
               WITH ORDINALITY AS s(f, t, amount, event_at, accrual_id, member_id, earned_date, expires_date, n)
    ), t AS (
        INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, accrual_id)
        SELECT f, t, amount, :code, event_at, accrual_id FROM src ORDER BY n
        RETURNING id, from_account_id, to_account_id, amount, accrual_id
    ), e AS (
        INSERT INTO entries (transfer_id, account_id, amount)
        SELECT id, from_account_id, -amount FROM t UNION ALL SELECT id, to_account_id, amount FROM t
    ), l AS (
        INSERT INTO lots (member_id, transfer_id, earned_date, expires_date, amount, remaining)
        SELECT src.member_id, t.id, src.earned_date, src.expires_date, t.amount, t.amount
        FROM t JOIN src ON src.accrual_id = t.accrual_id
    )
    SELECT count(*) FROM t
    """
)


@dataclass(frozen=True)
class AccrualPosting:
    """A credit for an accrual, with the earn lot it opens."""

    from_account_id: int
    to_account_id: int
    amount: int
    event_at: datetime
    accrual_id: int
    member_id: int
    earned_date: date
    expires_date: date | None


def _post_accruals(ledger: LedgerRepository, code: str, postings: list[AccrualPosting]) -> None:
    """Many accrual credits in one statement: transfers, their entries and their lots."""
    if not postings:
        return
    ledger.connection.execute(
        _POST_ACCRUALS,
        {
            "code": code,
            "f": [p.from_account_id for p in postings],
            "t": [p.to_account_id for p in postings],
            "amount": [p.amount for p in postings],
            "event_at": [p.event_at for p in postings],
            "accrual": [p.accrual_id for p in postings],
            "member": [p.member_id for p in postings],
            "earned": [p.earned_date for p in postings],
            "expires": [p.expires_date for p in postings],
        },
    )
    for p in postings:
        ledger.add_balance_change(p.from_account_id, -p.amount)
        ledger.add_balance_change(p.to_account_id, p.amount)
