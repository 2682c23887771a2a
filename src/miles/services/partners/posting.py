"""Pending partner miles post by themselves: the nightly run's chunks post their members' activities whose
pending period is over (`activity_date + pending_days <= run date`), set-based, in the chunk's transaction."""

from __future__ import annotations

from datetime import date

from miles.adapters.db.partners.postings import DUE_CANDIDATES, PartnerPostingRepository
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.ledger import ACCRUAL_PARTNER
from miles.domain.programme.model import ExpiryKind, Programme
from miles.services.clock import start_of_day
from miles.services.partners.credits import PostedCredit, credit_posted, parse_credits


def due_candidates(run_date: date) -> tuple[list[str], dict[str, object]]:
    """The plan's candidate query for the night's partner postings."""
    return [DUE_CANDIDATES], {"partner_due_date": run_date}


def post_due_activities(
    uow: UnitOfWork, programme: Programme, run_date: date, member_ids: list[int], chunk_no: int
) -> tuple[int, int]:
    """Post what is due to the members (locked by the chunk); (activities posted, miles)."""
    if not member_ids:
        return 0, 0
    source = uow.ledger.programme_account(ACCRUAL_PARTNER, chunk_no)
    uow.partner_activities.settlement_lock(programme.partners)
    expiry = programme.expiry
    months = expiry.months if expiry.kind is ExpiryKind.LOTS else None
    posted = PartnerPostingRepository(uow.connection).post_due(
        member_ids, run_date, source, months, programme.timezone
    )
    credit_posted(
        uow,
        programme,
        programme.metric_codes,
        [
            PostedCredit(pk, member_id, day, parse_credits(credits), start_of_day(day, programme.timezone))
            for pk, member_id, day, credits in posted.credited
        ],
    )
    for account_id, miles in posted.by_account.items():
        uow.ledger.add_balance_change(account_id, miles)
    if posted.miles:
        uow.ledger.add_balance_change(source, -posted.miles)
    return posted.activities, posted.miles
