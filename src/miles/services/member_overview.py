"""Everything the member page shows: standing and progress, balances, lots about to expire, the
statement in words, tier history, goodwill, claims and the audit trail of agents' changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from miles.adapters.db.audit import AuditRecord
from miles.adapters.db.dated_statement import DatedStatementRepository
from miles.adapters.db.member_search import ExpiringLot, TierChangeRecord
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.ledger import describe
from miles.domain.partners.contracts import PartnerContract
from miles.domain.programme.model import Programme
from miles.domain.progress import TierProgress, tier_progress
from miles.services import audit
from miles.services.award_desk import AwardChoices, choices_in_force, member_redemptions
from miles.services.claims import ClaimView, member_claims
from miles.services.clock import Clock, today
from miles.services.goodwill.adjustments import AdjustmentView, member_adjustments
from miles.services.ledger_views import MemberView
from miles.services.members import current_period, find_member, member_view, period_totals
from miles.services.partners.views import ActivityView, activity_view, partner_name
from miles.services.programmes import ProgrammeCatalog
from miles.services.redemptions.redemption_views import RedemptionView
from miles.services.runtime import Runtime
from miles.services.statements import decode_cursor, encode_cursor

EXPIRY_HORIZON = timedelta(days=90)
STATEMENT_PAGE = 20
PARTNER_LINES = 10


@dataclass(frozen=True)
class StatementEntry:
    transfer_id: int
    event_at: datetime
    description: str
    detail: str | None  # the goodwill reason, the flight, ...
    miles: int


@dataclass(frozen=True)
class StatementSlice:
    entries: list[StatementEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class StandingLabels:
    """The programme's own words for the member's standing (tier names, metric names, the period)."""

    tier_rank: int  # 0: the base tier
    tier_names: dict[str, str]  # code -> display name
    period: str  # "2026", or "2026-04-01 to 2027-03-31"
    metrics: list[tuple[str, str, bool]]  # (code, name, money) in the programme's order
    lifetime_metric: str | None  # the lifetime metric's name, when the programme has lifetime tiers


def standing_labels(programme: Programme, tier: str, start: date, end: date) -> StandingLabels:
    rules = programme.qualification
    whole_year = start.month == 1 and start.day == 1 and end == date(start.year, 12, 31)
    lifetime = programme.metric(rules.lifetime_metric) if rules.lifetime_metric else None
    return StandingLabels(
        tier_rank=programme.ladder.rank(tier) if tier in programme.ladder else 0,
        tier_names={t.code: t.name for t in programme.ladder.tiers},
        period=str(start.year) if whole_year else f"{start.isoformat()} to {end.isoformat()}",
        metrics=[(m.code, m.name, m.money) for m in programme.metrics],
        lifetime_metric=lifetime.name if lifetime else None,
    )


@dataclass(frozen=True)
class MemberOverview:
    member: MemberView
    member_id: int
    today: date
    labels: StandingLabels
    progress: TierProgress | None
    expiring: list[ExpiringLot]
    expiring_until: date
    expiry_exempt: bool
    goodwill_limit: int  # an agent's goodwill up to this applies at once
    tier_history: list[TierChangeRecord]
    statement: StatementSlice
    adjustments: list[AdjustmentView]
    claims: list[ClaimView]
    trail: list[AuditRecord]
    redemptions: list[RedemptionView]
    award_choices: AwardChoices
    partner_activity: list[ActivityView]  # the latest, newest first: pending, posted, cancelled, reversed


def statement_slice(
    runtime: Runtime, member_number: str, cursor: str | None, limit: int = STATEMENT_PAGE
) -> StatementSlice:
    """A slice of the member page's statement, in one order, the date shown, newest first (the API's
    statement is in the ledger's order), and the cursor to the next slice."""
    with runtime.uow() as uow:
        return _statement_slice(uow, runtime.catalog, member_number, cursor, limit)


def _statement_slice(
    uow: UnitOfWork, catalog: ProgrammeCatalog, member_number: str, cursor: str | None, limit: int
) -> StatementSlice:
    member = find_member(uow, member_number)  # the number checked first: its error names it
    before = decode_cursor(cursor) if cursor else None
    fetched = DatedStatementRepository(uow.connection).page(member.account_id, before, limit + 1)
    rows = fetched[:limit]
    memos = uow.member_search.transfer_memos([r.id for r in rows])
    flights = uow.member_search.accrual_flights([r.accrual_id for r in rows if r.accrual_id])
    partners = catalog.current(uow).versions[-1].partners
    entries = [
        StatementEntry(
            transfer_id=r.id,
            event_at=r.event_at,
            description=describe(r.code),
            detail=_promotion(r)
            or _partner(partners, r)
            or memos.get(r.id)
            or (flights.get(r.accrual_id) if r.accrual_id else None),
            miles=r.amount,
        )
        for r in rows
    ]
    more = len(fetched) > limit
    return StatementSlice(entries, encode_cursor(rows[-1].id) if more else None)


def _partner(partners: Mapping[str, PartnerContract], row: Any) -> str | None:
    """A partner line's partner and the partner's activity id."""
    return f"{partner_name(partners, row.partner)}: {row.partner_activity}" if row.partner else None


def _promotion(row: Any) -> str | None:
    """A bonus line's promotion, as the member knows it."""
    return f"{row.promotion_name} ({row.promotion_code})" if row.promotion_code else None


def member_overview(runtime: Runtime, member_number: str) -> MemberOverview:
    """Everything the member page shows, read in one transaction."""
    with runtime.uow() as uow:
        return _overview(uow, runtime.catalog, runtime.clock, member_number)


def _overview(uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock, member_number: str) -> MemberOverview:
    book = catalog.current(uow)
    programme = book.in_force(clock.now().date())
    day = today(clock, programme.timezone)
    record = find_member(uow, member_number, current_period(programme, day))
    view = member_view(book, record, day)
    s = record.standing
    until = day + EXPIRY_HORIZON
    return MemberOverview(
        member=view,
        member_id=record.id,
        today=day,
        labels=standing_labels(programme, s.tier, view.qualifying.period_start, view.qualifying.period_end),
        progress=tier_progress(programme, s.tier, period_totals(book, record)),
        expiring=uow.member_search.expiring_lots(record.id, until),
        expiring_until=until,
        expiry_exempt=view.tier in programme.expiry.exempt_tiers,
        goodwill_limit=programme.goodwill_agent_limit,
        tier_history=uow.member_search.tier_history(record.id, 20),
        statement=_statement_slice(uow, catalog, member_number, None, STATEMENT_PAGE),
        adjustments=member_adjustments(uow, record.id),
        claims=member_claims(uow, member_number),
        trail=audit.member_trail(uow, record.id),
        redemptions=member_redemptions(uow, record.id),
        award_choices=choices_in_force(uow, catalog, clock),
        partner_activity=[
            activity_view(a, programme.partners.get(a.partner))
            for a in uow.partner_activities.of_member(record.id, PARTNER_LINES)
        ],
    )
