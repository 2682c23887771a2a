"""The bonuses: members' use of each promotion (limits, challenge counts), the budgets, and the awards
with their transfers and lots, written set-based in the accrual's (or the nightly run's) transaction.

Budgets are spent under the promotion row's lock (`lock_budgets`, or the write that spends them, in
promotion id order, after the members' locks; FOR NO KEY UPDATE, so that the bonuses' foreign keys to the
row never wait on it): concurrent transactions spending one budget queue on that row, and a CHECK keeps
`budget_spent` within the budget whatever happens. A member's use is read and written under the
member's lock, which every path that credits them takes first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from psycopg.errors import CheckViolation
from sqlalchemy import Connection, text

from miles.adapters.db.promotions.award_statements import DESK_STATE, DESK_STATE_OF_ONE, RECORD, RECORD_PARAMS
from miles.domain.errors import BudgetMoved

PROMOTION_BONUS = "promotion_bonus"
PROMOTION_BONUS_REVERSAL = "promotion_bonus_reversal"
BUDGET_CHECK = "promotions_check"  # a budget's spent miles within the budget (migration 0013)


@dataclass(frozen=True)
class UseRow:
    """A member's use of one promotion."""

    promotion_id: int
    member_id: int
    registered_on: date | None = None
    miles: int = 0
    times: int = 0
    segments: int = 0
    runs: int = 0


@dataclass(frozen=True)
class SegmentRow:
    """An accrual counted in a challenge (and completed a run of it, or not)."""

    promotion_id: int
    accrual_id: int
    member_id: int
    completed: bool


@dataclass(frozen=True)
class NewAward:
    promotion_id: int
    member_id: int
    account_id: int  # the member's
    source_account_id: int  # the promotion account's shard
    accrual_id: int | None
    birthday_year: int | None
    miles: int
    metric: str | None
    amount: Decimal | None
    event_at: datetime
    earned_date: date
    expires_date: date | None
    partner_activity_id: int | None = None  # a partner bonus: the activity that earned it


@dataclass(frozen=True)
class AwardRecord:
    id: int
    promotion_id: int
    code: str
    member_id: int
    transfer_id: int | None
    accrual_id: int | None
    miles: int
    metric: str | None
    amount: Decimal | None
    partner_activity_id: int | None = None


class PromotionAwardRepository:
    def __init__(self, connection: Connection, posted_at: datetime | None = None) -> None:
        self.connection = connection
        self.posted_at = posted_at  # the unit of work's instant: when its transfers are posted

    def use(self, member_ids: list[int], promotion_ids: list[int]) -> dict[tuple[int, int], UseRow]:
        """The members' use of the promotions, by (member id, promotion id): rows that exist only."""
        if not member_ids or not promotion_ids:
            return {}
        rows = self.connection.execute(
            text(
                "SELECT promotion_id, member_id, registered_on, miles, times, segments, runs "
                "FROM promotion_members WHERE member_id = ANY(:m) AND promotion_id = ANY(:p)"
            ),
            {"m": member_ids, "p": promotion_ids},
        )
        return {(r.member_id, r.promotion_id): UseRow(**r._mapping) for r in rows}

    def desk_state(
        self, member_ids: list[int], promotion_ids: list[int], budget_ids: list[int], earning: bool
    ) -> tuple[dict[tuple[int, int], UseRow], dict[int, int], set[int]]:
        """In one round trip, without locks: the members' use of the promotions, the miles left in the
        budgets, and (with `earning`) the members who have an earning coupon already. One member (a single
        accrual) is a scalar: an array parameter costs more than the rest of the statement."""
        params: dict[str, object] = {"p": promotion_ids, "b": budget_ids}
        if len(member_ids) == 1:
            params |= {"m1": member_ids[0], "earning": earning}
            statement = DESK_STATE_OF_ONE
        else:
            params |= {"m": member_ids, "e": member_ids if earning else []}
            statement = DESK_STATE
        use: dict[tuple[int, int], UseRow] = {}
        budgets: dict[int, int] = {}
        earned: set[int] = set()
        # fetched at once and unpacked: thousands of rows for a batch, read row by row by name cost more
        # than the statement
        for (
            kind,
            promotion_id,
            member_id,
            registered_on,
            miles,
            times,
            segments,
            runs,
        ) in self.connection.execute(statement, params).all():
            if kind == 0:
                use[(member_id, promotion_id)] = UseRow(
                    promotion_id, member_id, registered_on, miles, times, segments, runs
                )
            elif kind == 1:
                budgets[int(promotion_id)] = int(miles)
            else:
                earned.add(int(member_id))
        return use, budgets, earned

    def lock_budgets(self, promotion_ids: list[int], lock: bool = True) -> dict[int, int]:
        """The miles left in each promotion's budget, the rows locked until commit (in id order);
        without `lock`, only read (a quote)."""
        if not promotion_ids:
            return {}
        rows = self.connection.execute(
            text(
                "SELECT id, budget_miles - budget_spent AS left FROM promotions "
                "WHERE id = ANY(:ids) AND budget_miles IS NOT NULL ORDER BY id"
                + (" FOR NO KEY UPDATE" if lock else "")
            ),
            {"ids": sorted(promotion_ids)},
        )
        return {int(r.id): int(r.left) for r in rows}

    def record(
        self,
        awards: list[NewAward],
        segments: list[SegmentRow] = [],  # noqa: B006 (read only)
        use: list[UseRow] = [],  # noqa: B006 (read only)
        spent: dict[int, int] | None = None,
    ) -> None:
        """Write, in one round trip, the awards (a `promotion_bonus` transfer with its entries and lot for
        each that gives miles), the challenge segments counted, the members' use (set: computed under their
        locks) and the budgets spent (their rows locked in id order, if this transaction had not yet).
        BudgetMoved: a budget no longer holds what is spent (its CHECK refused it; read without a lock,
        it was spent meanwhile)."""
        spend = {pid: miles for pid, miles in (spent or {}).items() if miles}
        if not awards and not segments and not use and not spend:
            return
        columns = {
            "promotion": [a.promotion_id for a in awards],
            "member": [a.member_id for a in awards],
            "account": [a.account_id for a in awards],
            "source": [a.source_account_id for a in awards],
            "accrual": [a.accrual_id for a in awards],
            "year": [a.birthday_year for a in awards],
            "miles": [a.miles for a in awards],
            "metric": [a.metric for a in awards],
            "amount": [a.amount for a in awards],
            "event_at": [a.event_at for a in awards],
            "earned": [a.earned_date for a in awards],
            "expires": [a.expires_date for a in awards],
            "partner_activity": [a.partner_activity_id for a in awards],
            "seg_promotion": [r.promotion_id for r in segments],
            "seg_accrual": [r.accrual_id for r in segments],
            "seg_member": [r.member_id for r in segments],
            "seg_completed": [r.completed for r in segments],
            "use_promotion": [r.promotion_id for r in use],
            "use_member": [r.member_id for r in use],
            "use_registered": [r.registered_on for r in use],
            "use_miles": [r.miles for r in use],
            "use_times": [r.times for r in use],
            "use_segments": [r.segments for r in use],
            "use_runs": [r.runs for r in use],
            "spend_promotion": list(spend),
            "spend_miles": list(spend.values()),
            "posted_at": self.posted_at,
        }
        raw = self.connection.connection.driver_connection
        assert raw is not None
        with raw.cursor(binary=True) as cursor:
            try:
                cursor.execute(RECORD, [columns[name] for name, _ in RECORD_PARAMS])
            except CheckViolation as exc:
                if exc.diag.constraint_name == BUDGET_CHECK:
                    raise BudgetMoved from exc
                raise

    def segments_of(self, accrual_id: int) -> list[SegmentRow]:
        rows = self.connection.execute(
            text(
                "SELECT promotion_id, accrual_id, member_id, completed FROM promotion_segments "
                "WHERE accrual_id = :a ORDER BY promotion_id"
            ),
            {"a": accrual_id},
        )
        return [SegmentRow(**r._mapping) for r in rows]

    def save_use(self, rows: list[UseRow]) -> None:
        """Set the members' use of the promotions (computed under the members' locks)."""
        if not rows:
            return
        self.connection.execute(
            text(
                """
                INSERT INTO promotion_members (promotion_id, member_id, registered_on, miles, times, segments, runs)
                SELECT * FROM unnest(CAST(:p AS bigint[]), CAST(:m AS bigint[]), CAST(:r AS date[]),
                                     CAST(:miles AS bigint[]), CAST(:times AS int[]), CAST(:seg AS int[]),
                                     CAST(:runs AS int[]))
                ORDER BY 2, 1
                ON CONFLICT (member_id, promotion_id) DO UPDATE
                SET miles = excluded.miles, times = excluded.times, segments = excluded.segments,
                    runs = excluded.runs
                """
            ),
            {
                "p": [r.promotion_id for r in rows],
                "m": [r.member_id for r in rows],
                "r": [r.registered_on for r in rows],
                "miles": [r.miles for r in rows],
                "times": [r.times for r in rows],
                "seg": [r.segments for r in rows],
                "runs": [r.runs for r in rows],
            },
        )

    def add_use(self, grants: list[tuple[int, int, int]]) -> None:
        """Count bonuses granted outside an accrual (promotion id, member id, miles): one more each."""
        if not grants:
            return
        self.connection.execute(
            text(
                """
                INSERT INTO promotion_members (promotion_id, member_id, miles, times)
                SELECT p, m, miles, 1 FROM unnest(CAST(:p AS bigint[]), CAST(:m AS bigint[]), CAST(:miles AS bigint[]))
                    AS g(p, m, miles)
                ORDER BY m, p
                ON CONFLICT (member_id, promotion_id) DO UPDATE
                SET miles = promotion_members.miles + excluded.miles, times = promotion_members.times + 1
                """
            ),
            {"p": [g[0] for g in grants], "m": [g[1] for g in grants], "miles": [g[2] for g in grants]},
        )

    def spend(self, spent: dict[int, int]) -> None:
        """Move the promotions' budgets by `spent` miles each (negative: given back), rows already locked."""
        changes = {pid: miles for pid, miles in spent.items() if miles}
        if not changes:
            return
        self.connection.execute(
            text(
                "UPDATE promotions p SET budget_spent = p.budget_spent + s.miles "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:miles AS bigint[])) s(id, miles) "
                "WHERE p.id = s.id AND p.budget_miles IS NOT NULL"
            ),
            {"ids": list(changes), "miles": list(changes.values())},
        )

    def of_accruals(self, accrual_ids: list[int]) -> dict[int, list[AwardRecord]]:
        """The awards the accruals earned (reversed ones included), by accrual id, in promotion id order."""
        if not accrual_ids:
            return {}
        rows = self.connection.execute(
            text(
                """
                SELECT a.id, a.promotion_id, p.code, a.member_id, a.transfer_id, a.accrual_id, a.miles,
                       a.metric, a.amount
                FROM promotion_awards a JOIN promotions p ON p.id = a.promotion_id
                WHERE a.accrual_id = ANY(:ids) AND a.reverses_award_id IS NULL
                ORDER BY a.accrual_id, a.promotion_id
                """
            ),
            {"ids": accrual_ids},
        )
        out: dict[int, list[AwardRecord]] = {}
        for r in rows:
            out.setdefault(int(r.accrual_id), []).append(AwardRecord(**r._mapping))
        return out

    def of_partner_activity(self, activity_pk: int) -> list[AwardRecord]:
        """The awards a partner activity earned (not the reversals), in promotion id order."""
        rows = self.connection.execute(
            text(
                """
                SELECT a.id, a.promotion_id, p.code, a.member_id, a.transfer_id, a.accrual_id, a.miles,
                       a.metric, a.amount, a.partner_activity_id
                FROM promotion_awards a JOIN promotions p ON p.id = a.promotion_id
                WHERE a.partner_activity_id = :a AND a.reverses_award_id IS NULL
                ORDER BY a.promotion_id
                """
            ),
            {"a": activity_pk},
        )
        return [AwardRecord(**r._mapping) for r in rows]

    def reverse(self, award: AwardRecord, transfer_id: int | None, at: datetime) -> None:
        """Record that an award was taken back (by `transfer_id`, the reversing transfer, if it gave miles)."""
        self.connection.execute(
            text(
                """
                INSERT INTO promotion_awards (promotion_id, member_id, transfer_id, accrual_id, miles, metric,
                                              amount, reverses_award_id, event_at, partner_activity_id)
                VALUES (:p, :m, :t, :a, :miles, :metric, :amount, :id, :at, :pa)
                """
            ),
            {
                "p": award.promotion_id,
                "m": award.member_id,
                "t": transfer_id,
                "a": award.accrual_id,
                "miles": -award.miles,
                "metric": award.metric,
                "amount": -award.amount if award.amount is not None else None,
                "id": award.id,
                "at": at,
                "pa": award.partner_activity_id,
            },
        )
