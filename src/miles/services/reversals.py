"""Reversal of an accrual (refund, exchange): award and status miles go back, once."""

from __future__ import annotations

from decimal import Decimal

from miles.adapters.db.accruals import ReversalRecord
from miles.adapters.db.ledger import Posting
from miles.adapters.db.standing import StandingUpdate, StatusCredit, metric_mapping
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import Conflict, InvalidInput, NotFound
from miles.domain.ledger import ACCRUAL_FLIGHT
from miles.domain.lots import plan_draws
from miles.services.clock import Clock
from miles.services.ledger_views import STATUS_MILES, ReversalView
from miles.services.programmes import ProgrammeCatalog
from miles.services.promotions.reversal import take_back_bonuses
from miles.services.runtime import Runtime


def _view(record: ReversalRecord, member_number: str, status_miles: int) -> ReversalView:
    return ReversalView(
        reversal_id=record.id,
        accrual_id=record.accrual_id,
        member_number=member_number,
        reason=record.reason,
        reversed_award_miles=record.reversed_miles,
        reversed_status_miles=status_miles,
        balance_after=record.balance_after,
        reversed_at=record.created_at,
    )


def _replay(
    existing: ReversalRecord, digest: str, member_number: str, status: int
) -> tuple[ReversalView, bool]:
    if existing.request_digest != digest:
        raise Conflict(
            f"accrual {existing.accrual_id} was already reversed with another reason",
            code="already_reversed",
        )
    return _view(existing, member_number, status), False


def reverse_accrual(runtime: Runtime, accrual_id: int, reason: str, digest: str) -> tuple[ReversalView, bool]:
    """Reverse an accrual once, in one transaction: (the reversal, True when made now / False for a
    replay of the first reversal)."""
    if not reason.strip() or len(reason) > 500:
        raise InvalidInput("give a reason of 1 to 500 characters", field="reason")
    with runtime.uow() as uow:
        return _reverse(uow, runtime.catalog, runtime.clock, accrual_id, reason, digest)


def _reverse(
    uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock, accrual_id: int, reason: str, digest: str
) -> tuple[ReversalView, bool]:
    accrual = uow.accruals.get(accrual_id)
    if accrual is None:
        raise NotFound(f"no accrual {accrual_id}", code="accrual_not_found")
    book = catalog.current(uow)
    latest = book.versions[-1]
    credits = metric_mapping(book.metric_codes, accrual.credits)
    status_miles = int(credits.get(STATUS_MILES, 0))
    existing = uow.accruals.reversal_of(accrual_id)
    if existing is not None:
        return _replay(existing, digest, accrual.member_number, status_miles)
    member = uow.members.lock(accrual.member_number)
    assert member is not None
    balance_after = member.balance - accrual.award_miles
    reversal_id = uow.accruals.add_reversal(accrual_id, reason, digest, accrual.award_miles, balance_after)
    if reversal_id is None:
        raced = uow.accruals.reversal_of(accrual_id)
        assert raced is not None
        return _replay(raced, digest, accrual.member_number, status_miles)
    now = clock.now()
    flight_miles = accrual.award_miles - accrual.promotion_miles
    if flight_miles > 0:
        original = uow.accruals.transfer_of(accrual_id)
        transfer_id = uow.ledger.post(
            Posting(
                from_account_id=member.account_id,
                to_account_id=uow.ledger.programme_account(ACCRUAL_FLIGHT, member.id),
                amount=flight_miles,
                code="flight_accrual_reversal",
                event_at=now,
                accrual_id=accrual_id,
                reverses_transfer_id=original,
                memo=reason,
            )
        )
        own_lot = uow.ledger.lot_of_transfer(original) if original is not None else None
        draws, _debt = plan_draws(
            uow.ledger.open_lots(member.id), flight_miles, own_lot.id if own_lot else None
        )
        uow.ledger.draw_lots(transfer_id, draws)
    take_back_bonuses(uow, member, accrual_id, now)
    if any(accrual.credits):
        uow.standing.credit(
            "flight_reversal",
            [StatusCredit(member.id, accrual.period_start, [-v for v in accrual.credits], accrual_id, now)],
        )
    metric = latest.qualification.lifetime_metric
    s = member.standing
    lifetime_delta = -credits[metric] if metric is not None else Decimal(0)
    uow.standing.update(
        [StandingUpdate(member.id, s.tier, s.tier_valid_until, s.lifetime_tier, lifetime_delta, None)]
    )
    record = uow.accruals.reversal_of(accrual_id)
    assert record is not None
    return _view(record, member.member_number, status_miles), True
