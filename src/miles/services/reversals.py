"""Reversal of an accrual (refund, exchange): award and status miles go back, once."""

from __future__ import annotations

from miles.adapters.db.accruals import ReversalRecord
from miles.adapters.db.ledger import Posting
from miles.adapters.db.standing import StandingUpdate, StatusCredit
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import Conflict, InvalidInput, NotFound
from miles.domain.ledger import ACCRUAL_FLIGHT
from miles.domain.lots import plan_draws
from miles.services.clock import Clock
from miles.services.ledger_views import ReversalView
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
        return _reverse(uow, runtime.clock, accrual_id, reason, digest)


def _reverse(
    uow: UnitOfWork, clock: Clock, accrual_id: int, reason: str, digest: str
) -> tuple[ReversalView, bool]:
    accrual = uow.accruals.get(accrual_id)
    if accrual is None:
        raise NotFound(f"no accrual {accrual_id}", code="accrual_not_found")
    existing = uow.accruals.reversal_of(accrual_id)
    if existing is not None:
        return _replay(existing, digest, accrual.member_number, accrual.status_miles)
    member = uow.members.lock(accrual.member_number, accrual.departure_year)
    assert member is not None
    balance_after = member.balance - accrual.award_miles
    reversal_id = uow.accruals.add_reversal(accrual_id, reason, digest, accrual.award_miles, balance_after)
    if reversal_id is None:
        raced = uow.accruals.reversal_of(accrual_id)
        assert raced is not None
        return _replay(raced, digest, accrual.member_number, accrual.status_miles)
    now = clock.now()
    if accrual.award_miles > 0:
        original = uow.accruals.transfer_of(accrual_id)
        transfer_id = uow.ledger.post(
            Posting(
                from_account_id=member.account_id,
                to_account_id=uow.ledger.programme_account(ACCRUAL_FLIGHT, member.id),
                amount=accrual.award_miles,
                code="flight_accrual_reversal",
                event_at=now,
                accrual_id=accrual_id,
                reverses_transfer_id=original,
                memo=reason,
            )
        )
        own_lot = uow.ledger.lot_of_transfer(original) if original is not None else None
        draws, _debt = plan_draws(
            uow.ledger.open_lots(member.id), accrual.award_miles, own_lot.id if own_lot else None
        )
        uow.ledger.draw_lots(transfer_id, draws)
    if accrual.status_miles or accrual.segments or accrual.spend_usd:
        uow.standing.credit(
            "flight_reversal",
            [
                StatusCredit(
                    member.id,
                    accrual.departure_year,
                    -accrual.status_miles,
                    -accrual.segments,
                    -accrual.spend_usd,
                    accrual_id,
                    now,
                )
            ],
        )
    s = member.standing
    uow.standing.update(
        [
            StandingUpdate(
                member.id, s.tier.name, s.tier_valid_until, s.lifetime_tier.name, -accrual.status_miles, None
            )
        ]
    )
    record = uow.accruals.reversal_of(accrual_id)
    assert record is not None
    return _view(record, member.member_number, accrual.status_miles), True
