"""The unit of work: one connection, one transaction per use case, repositories bound to it.

Services receive a unit of work and never commit; the entry point that opened it commits on a clean
exit (after the ledger has written its balance changes) and rolls back on any exception.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Connection, Engine

from miles.adapters.db.accruals import AccrualRepository
from miles.adapters.db.agents import AgentRepository
from miles.adapters.db.apikeys import ApiKeyRepository
from miles.adapters.db.audit import AuditRepository
from miles.adapters.db.claims import ClaimRepository
from miles.adapters.db.goodwill import GoodwillRepository
from miles.adapters.db.holds import HoldRepository
from miles.adapters.db.idempotency import IdempotencyRepository
from miles.adapters.db.ledger import LedgerRepository
from miles.adapters.db.lot_refunds import LotRefundRepository
from miles.adapters.db.member_search import MemberSearchRepository
from miles.adapters.db.members import MemberRepository
from miles.adapters.db.outbox import OutboxRepository
from miles.adapters.db.partners.activities import PartnerActivityRepository
from miles.adapters.db.programmes import ProgrammeRepository
from miles.adapters.db.promotions.awards import PromotionAwardRepository
from miles.adapters.db.promotions.campaigns import CampaignRepository
from miles.adapters.db.redemptions import RedemptionRepository
from miles.adapters.db.standing import StandingRepository
from miles.adapters.db.statements import StatementRepository


def _system_now() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    connection: Connection
    now: datetime  # the process's clock when the unit of work began: the posting instant of its transfers

    def __init__(
        self,
        engine: Engine,
        after_commit: Callable[[], None] | None = None,
        now: Callable[[], datetime] = _system_now,
    ) -> None:
        self._engine = engine
        self._after_commit = after_commit
        self._now = now

    def __enter__(self) -> UnitOfWork:
        self.now = self._now()
        self.connection = self._engine.connect()
        self._transaction = self.connection.begin()
        self.ledger = LedgerRepository(self.connection, self.now)
        self.members = MemberRepository(self.connection)
        self.accruals = AccrualRepository(self.connection)
        self.apikeys = ApiKeyRepository(self.connection)
        self.programmes = ProgrammeRepository(self.connection)
        self.idempotency = IdempotencyRepository(self.connection)
        self.standing = StandingRepository(self.connection)
        self.statements = StatementRepository(self.connection)
        self.outbox = OutboxRepository(self.connection)
        self.redemptions = RedemptionRepository(self.connection)
        self.holds = HoldRepository(self.connection, self.ledger)
        self.lot_refunds = LotRefundRepository(self.connection)
        self.agents = AgentRepository(self.connection)
        self.audit = AuditRepository(self.connection)
        self.goodwill = GoodwillRepository(self.connection)
        self.claims = ClaimRepository(self.connection)
        self.member_search = MemberSearchRepository(self.connection)
        self.campaigns = CampaignRepository(self.connection)
        self.promotion_awards = PromotionAwardRepository(self.connection, self.now)
        self.partner_activities = PartnerActivityRepository(self.connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        committed = False
        try:
            if exc_type is None:
                self.ledger.flush_balances()
                self._transaction.commit()
                committed = True
            else:
                self._transaction.rollback()
        finally:
            self.connection.close()
        if committed and self.outbox.added and self._after_commit is not None:
            self._after_commit()  # jobs written by this transaction go to the queue now


class UnitOfWorkFactory:
    def __init__(self, engine: Engine, now: Callable[[], datetime] = _system_now) -> None:
        self.engine = engine
        self.now = now  # the process's clock (MILES_CLOCK_AT pins it)
        self.after_commit: Callable[[], None] | None = None

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.after_commit, self.now)
