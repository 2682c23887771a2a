"""Pending partner miles post by themselves: the nightly run's chunks post their members' activities whose
pending period is over (`activity_date + pending_days <= run date`), set-based, in the chunk's transaction,
with the bonuses of the partner promotions they earn then."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from miles.adapters.db.partners.postings import DUE_CANDIDATES, PartnerPostingRepository
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.expiry import lot_expires_date
from miles.domain.ledger import ACCRUAL_PARTNER
from miles.domain.programme.model import ExpiryKind, Programme
from miles.services.clock import start_of_day
from miles.services.partners.credits import PostedCredit, credit_posted, parse_credits
from miles.services.promotions.partner_bonuses import PartnerDesk, PostedActivity

LONGEST_PENDING = timedelta(days=366)  # pending_days is at most 365: no due activity is dated earlier


def due_candidates(run_date: date) -> tuple[list[str], dict[str, object]]:
    """The plan's candidate query for the night's partner postings."""
    return [DUE_CANDIDATES], {"partner_due_date": run_date}


def post_due_activities(
    uow: UnitOfWork, programme: Programme, run_date: date, member_ids: list[int], chunk_no: int, now: datetime
) -> tuple[int, int]:
    """Post what is due to the members (locked by the chunk); (activities posted, miles, bonuses included)."""
    if not member_ids:
        return 0, 0
    source = uow.ledger.programme_account(ACCRUAL_PARTNER, chunk_no)
    uow.partner_activities.settlement_lock(programme.partners)
    desk = PartnerDesk.open(uow, member_ids, [run_date - LONGEST_PENDING, run_date], now, programme.timezone)
    expiry = programme.expiry
    months = expiry.months if expiry.kind is ExpiryKind.LOTS else None
    posted = PartnerPostingRepository(uow.connection).post_due(
        member_ids, run_date, source, months, programme.timezone, uow.now
    )
    credit_posted(
        uow,
        programme,
        programme.metric_codes,
        [
            PostedCredit(
                r.id, r.member_id, r.activity_date, parse_credits(r.credits), _at(r.activity_date, programme)
            )
            for r in posted.rows
            if r.credits
        ],
    )
    for account_id, miles in posted.by_account().items():
        uow.ledger.add_balance_change(account_id, miles)
    if posted.miles:
        uow.ledger.add_balance_change(source, -posted.miles)
    bonus = 0
    if desk is not None:
        bonus = desk.award(
            uow,
            [
                PostedActivity(
                    r.id,
                    r.member_id,
                    r.account_id,
                    r.partner,
                    r.kind,
                    r.activity_date,
                    r.miles,
                    _at(r.activity_date, programme),
                    lot_expires_date(r.activity_date, months) if months is not None else None,
                )
                for r in posted.rows
            ],
            now,
        )
    return len(posted.rows), posted.miles + bonus


def _at(day: date, programme: Programme) -> datetime:
    return start_of_day(day, programme.timezone)
