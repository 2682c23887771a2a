"""A partner's reversal of an activity (a cancelled stay, a refunded purchase): before its miles posted,
it is cancelled and never posts; after, a reversing transfer takes them back (the activity's own lot
first; the member may be left in debt, as with a reversed flight). Once: the same reversal again answers
as the first; another reason is a 409."""

from __future__ import annotations

from miles.adapters.db.ledger import Posting
from miles.adapters.db.partners.activities import StoredActivity
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import Conflict, InvalidInput, NotFound
from miles.domain.ledger import ACCRUAL_PARTNER
from miles.domain.lots import plan_draws
from miles.domain.validation import check_text
from miles.services.clock import today
from miles.services.digest import request_digest
from miles.services.partners.activities import contract_of, programme_now
from miles.services.partners.credits import take_back
from miles.services.partners.views import ActivityView, activity_view
from miles.services.promotions.reversal import take_back_partner_bonuses
from miles.services.runtime import Runtime


def reverse_activity(
    runtime: Runtime, partner: str, activity_id: str, reason: str | None
) -> tuple[ActivityView, bool]:
    """(the activity after its reversal, True when reversed now / False for a replay)."""
    if reason is not None:
        check_text(reason, "reason", multiline=True)
        if not reason.strip() or len(reason) > 500:
            raise InvalidInput("give a reason of 1 to 500 characters, or none", field="reason")
    digest = request_digest({"reason": reason})
    with runtime.uow() as uow:
        return _reverse(uow, runtime, partner, activity_id, reason, digest)


def _replay(stored: StoredActivity, digest: str) -> None:
    if stored.reversal_digest != digest:
        raise Conflict(
            f"activity {stored.activity_id} was already reversed with another reason", code="already_reversed"
        )


def _reverse(
    uow: UnitOfWork, runtime: Runtime, partner: str, activity_id: str, reason: str | None, digest: str
) -> tuple[ActivityView, bool]:
    programme = programme_now(runtime.catalog.current(uow), runtime.clock)
    contract = contract_of(programme, partner)
    seen = uow.partner_activities.find(partner, [activity_id]).get(activity_id)
    if seen is None:
        raise NotFound(
            f"no activity {activity_id!r} of {partner}", field="activity_id", code="activity_not_found"
        )
    uow.members.lock_id(seen.member_id)  # the member first, then the activity: the nightly posting's order
    stored = uow.partner_activities.find(partner, [activity_id], lock=True)[activity_id]
    if stored.status in ("cancelled", "reversed"):
        _replay(stored, digest)
        return activity_view(stored, contract), False
    day = today(runtime.clock, programme.timezone)
    if stored.status == "pending":
        uow.partner_activities.cancel(stored.id, day, reason, digest)
    else:
        uow.partner_activities.settlement_lock([partner])
        original = uow.partner_activities.posting_transfer(stored.id)
        if original is not None:
            member_account = uow.ledger.credited_account(original)
            transfer_id = uow.ledger.post(
                Posting(
                    from_account_id=member_account,
                    to_account_id=uow.ledger.programme_account(ACCRUAL_PARTNER, stored.member_id),
                    amount=stored.miles,
                    code="partner_accrual_reversal",
                    event_at=runtime.clock.now(),
                    reverses_transfer_id=original,
                    memo=reason,
                    partner_activity_id=stored.id,
                )
            )
            own = uow.ledger.lot_of_transfer(original)
            draws, _debt = plan_draws(
                uow.ledger.open_lots(stored.member_id), stored.miles, own.id if own else None
            )
            uow.ledger.draw_lots(transfer_id, draws)
        take_back(uow, programme, stored.id, stored.member_id, runtime.clock.now())
        if original is not None:
            take_back_partner_bonuses(uow, stored.member_id, member_account, stored.id, runtime.clock.now())
        uow.partner_activities.mark_reversed(stored.id, partner, day, reason, digest)
    after = uow.partner_activities.find(partner, [activity_id]).get(activity_id)
    assert after is not None
    return activity_view(after, contract), True
