"""The ledger's writes: transfers with their two entries, lots, lot draws, and account balances.

Balance changes are gathered during the unit of work and written by `flush_balances` just before
commit, in one statement that locks the accounts in id order: the programme's hot accounts stay
locked only for that statement and the commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import URL, Connection, text

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
    promotion_id: int | None = None
    partner_activity_id: int | None = None


_TRANSFER = """
    WITH t AS (
        INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, accrual_id,
                               reverses_transfer_id, memo, redemption_id, promotion_id, partner_activity_id,
                               posted_at)
        VALUES (:f, :t, :amount, :code, :event_at, :accrual_id, :reverses, :memo, :redemption_id, :promotion_id,
                :partner_activity_id, coalesce(CAST(:posted_at AS timestamptz), now()))
        RETURNING id
    ), e AS (
        INSERT INTO entries (transfer_id, account_id, amount)
        SELECT id, :f, -CAST(:amount AS bigint) FROM t
        UNION ALL SELECT id, :t, :amount FROM t
    )"""
_POST = text(f"{_TRANSFER} SELECT id FROM t")
_POST_WITH_LOT = text(
    f"""{_TRANSFER}, l AS (
        INSERT INTO lots (member_id, transfer_id, earned_date, expires_date, amount, remaining)
        SELECT :member_id, id, :earned_date, :expires_date, :amount, :amount FROM t
    )
    SELECT id FROM t
    """
)


PROGRAMME_ACCOUNT_SHARDS = 64  # rows per programme account (migration 0007): see programme_account


class LedgerRepository:
    # the programme accounts' ids (shard order) by database and code: a programme account is made by a
    # migration and never changes its id, so only another database can make a cached id wrong
    _account_ids: dict[tuple[URL, str], list[int]] = {}

    def __init__(self, connection: Connection, posted_at: datetime | None = None) -> None:
        self.connection = connection
        self.posted_at = posted_at  # the unit of work's instant: when its transfers are posted
        self._deltas: dict[int, int] = defaultdict(int)
        self._pending: dict[int, int] = defaultdict(int)  # holds placed (+) and closed (-)
        self._shards: dict[str, list[int]] = {}  # this unit of work's: no URL hashed per call

    def programme_account(self, code: str, spread: int = 0) -> int:
        """The programme account `code`, on the shard that `spread` (a member's id, a chunk's number)
        falls on. A programme account is several rows (shards) of the same code, so that transactions
        for different members do not all wait on one row's lock until the other's commit is on disk."""
        shards = self._shards.get(code)
        if shards is not None:
            return shards[spread % len(shards)]
        key = (self.connection.engine.url, code)
        shards = LedgerRepository._account_ids.get(key)
        if shards is None:
            shards = list(
                self.connection.execute(
                    text("SELECT id FROM accounts WHERE code = :code AND member_id IS NULL ORDER BY shard"),
                    {"code": code},
                ).scalars()
            )
            if not shards:
                raise LookupError(f"no programme account {code!r}")
            LedgerRepository._account_ids[key] = shards
        self._shards[code] = shards
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
            "promotion_id": posting.promotion_id,
            "partner_activity_id": posting.partner_activity_id,
            "posted_at": self.posted_at,
        }
        statement = _POST
        if lot_member_id is not None:
            statement = _POST_WITH_LOT
            params |= {"member_id": lot_member_id, "earned_date": earned_date, "expires_date": expires_date}
        transfer_id = int(self.connection.execute(statement, params).scalar_one())
        self.add_balance_change(posting.from_account_id, -posting.amount)
        self.add_balance_change(posting.to_account_id, posting.amount)
        return transfer_id

    def add_balance_change(self, account_id: int, delta: int) -> None:
        self._deltas[account_id] += delta

    def add_pending_change(self, account_id: int, delta: int) -> None:
        self._pending[account_id] += delta

    def flush_balances(self) -> None:
        """Apply the gathered balance and pending changes in one round trip: the accounts are locked in
        ascending id order first (so two writers never deadlock), then updated by one set-based statement
        (a batch or a file's chunk touches thousands of accounts). The lock is the one an UPDATE of the
        balance takes (no key update): the key-share locks of other transactions' foreign-key checks on
        the same accounts do not block it."""
        changes = {
            i: (self._deltas.get(i, 0), self._pending.get(i, 0))
            for i in self._deltas.keys() | self._pending.keys()
        }
        changes = {i: change for i, change in changes.items() if change != (0, 0)}
        self._deltas.clear()
        self._pending.clear()
        if not changes:
            return
        ids = sorted(changes)

        def array(values: list[int]) -> str:
            return "'{" + ",".join(str(int(v)) for v in values) + "}'::bigint[]"

        ids_sql = array(ids)
        self.connection.exec_driver_sql(
            f"SELECT count(*) FROM (SELECT id FROM accounts WHERE id = ANY({ids_sql}) ORDER BY id FOR NO KEY UPDATE) "
            f"locked; UPDATE accounts a SET balance = a.balance + d.balance, pending = a.pending + d.pending "
            f"FROM unnest({ids_sql}, {array([changes[i][0] for i in ids])}, "
            f"{array([changes[i][1] for i in ids])}) AS d(id, balance, pending) WHERE a.id = d.id"
        )

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
