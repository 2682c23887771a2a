"""Birthday bonuses, granted by the nightly run's chunks to their members who celebrate on the run date:
a `promotion_bonus` transfer and lot per bonus, the members' use and the budgets counted, set-based."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from miles.adapters.db.promotions.awards import NewAward
from miles.adapters.db.promotions.birthdays import BIRTHDAY_CANDIDATES, BirthdayRepository, celebrated_on
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.calendar import end_of_month_after
from miles.domain.programme.model import ExpiryKind, Programme
from miles.services.clock import start_of_day
from miles.services.promotions.earning import PROMOTION


def birthday_candidates(
    uow: UnitOfWork, run_date: date, now: datetime
) -> tuple[list[str], dict[str, object]]:
    """The plan's candidate query for the night's birthdays (none when no birthday promotion runs)."""
    if not BirthdayRepository(uow.connection).any_running(run_date, now):
        return [], {}
    return [BIRTHDAY_CANDIDATES], {"birthdays": celebrated_on(run_date)}


def grant_birthdays(
    uow: UnitOfWork, programme: Programme, run_date: date, member_ids: list[int], now: datetime
) -> tuple[int, int]:
    """Grant the birthday bonuses due to the members (locked by the chunk); (bonuses, miles)."""
    grants = BirthdayRepository(uow.connection).due(member_ids, run_date, now, programme.timezone)
    if not grants:
        return 0, 0
    expiry = programme.expiry
    expires = end_of_month_after(run_date, expiry.months) if expiry.kind is ExpiryKind.LOTS else None
    event_at = start_of_day(run_date, programme.timezone)
    spent: dict[int, int] = defaultdict(int)
    rows = []
    for g in grants:
        source = uow.ledger.programme_account(PROMOTION, g.member_id)
        rows.append(
            NewAward(
                promotion_id=g.promotion_id,
                member_id=g.member_id,
                account_id=g.account_id,
                source_account_id=source,
                accrual_id=None,
                birthday_year=run_date.year,
                miles=g.miles,
                metric=None,
                amount=None,
                event_at=event_at,
                earned_date=run_date,
                expires_date=expires,
            )
        )
        uow.ledger.add_balance_change(source, -g.miles)
        uow.ledger.add_balance_change(g.account_id, g.miles)
        spent[g.promotion_id] += g.miles
    uow.promotion_awards.record(rows)
    uow.promotion_awards.add_use([(g.promotion_id, g.member_id, g.miles) for g in grants])
    uow.promotion_awards.spend(dict(spent))
    return len(grants), sum(g.miles for g in grants)
