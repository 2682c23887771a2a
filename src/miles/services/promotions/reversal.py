"""A reversed accrual gives back what its promotions gave: the miles (a reversing transfer per bonus),
the member's limits, the budgets, and the challenge segments it counted (a run it completed too). A
reversed partner activity gives back its partner bonuses the same way."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from miles.adapters.db.ledger import Posting
from miles.adapters.db.members import MemberRecord
from miles.adapters.db.promotions.awards import PROMOTION_BONUS_REVERSAL, AwardRecord, SegmentRow, UseRow
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.lots import plan_draws
from miles.services.promotions.earning import PROMOTION


def take_back_bonuses(uow: UnitOfWork, member: MemberRecord, accrual_id: int, at: datetime) -> int:
    """Take back the promotions of an accrual being reversed (the member locked); the miles taken back."""
    awards = uow.promotion_awards.of_accruals([accrual_id]).get(accrual_id, [])
    segments = uow.promotion_awards.segments_of(accrual_id)
    return _take_back(uow, member.id, member.account_id, awards, segments, at, accrual_id=accrual_id)


def take_back_partner_bonuses(
    uow: UnitOfWork, member_id: int, account_id: int, activity_pk: int, at: datetime
) -> int:
    """Take back the partner promotions of a partner activity being reversed (the member locked)."""
    awards = uow.promotion_awards.of_partner_activity(activity_pk)
    return _take_back(uow, member_id, account_id, awards, [], at, partner_activity_id=activity_pk)


def _take_back(
    uow: UnitOfWork,
    member_id: int,
    account_id: int,
    awards: list[AwardRecord],
    segments: list[SegmentRow],
    at: datetime,
    accrual_id: int | None = None,
    partner_activity_id: int | None = None,
) -> int:
    ids = sorted({a.promotion_id for a in awards} | {s.promotion_id for s in segments})
    if not ids:
        return 0
    uow.promotion_awards.lock_budgets(ids)  # budgets are given back under the lock they are spent under
    use = uow.promotion_awards.use([member_id], ids)
    rows = {pid: use.get((member_id, pid), UseRow(pid, member_id)) for pid in ids}
    given_back: dict[int, int] = {}
    taken = 0
    for a in awards:
        transfer_id = None
        if a.miles > 0:
            source = uow.ledger.programme_account(PROMOTION, member_id)
            transfer_id = uow.ledger.post(
                Posting(
                    from_account_id=account_id,
                    to_account_id=source,
                    amount=a.miles,
                    code=PROMOTION_BONUS_REVERSAL,
                    event_at=at,
                    accrual_id=accrual_id,
                    reverses_transfer_id=a.transfer_id,
                    promotion_id=a.promotion_id,
                    partner_activity_id=partner_activity_id,
                )
            )
            own = uow.ledger.lot_of_transfer(a.transfer_id) if a.transfer_id is not None else None
            draws, _debt = plan_draws(uow.ledger.open_lots(member_id), a.miles, own.id if own else None)
            uow.ledger.draw_lots(transfer_id, draws)
            taken += a.miles
        uow.promotion_awards.reverse(a, transfer_id, at)
        given_back[a.promotion_id] = given_back.get(a.promotion_id, 0) - a.miles
        r = rows[a.promotion_id]
        rows[a.promotion_id] = replace(r, miles=max(r.miles - a.miles, 0), times=max(r.times - 1, 0))
    for s in segments:
        r = rows[s.promotion_id]
        rows[s.promotion_id] = replace(
            r, segments=max(r.segments - 1, 0), runs=max(r.runs - (1 if s.completed else 0), 0)
        )
    uow.promotion_awards.save_use(list(rows.values()))
    uow.promotion_awards.spend(given_back)
    return taken
