"""Promotions with the trigger `partner`: a bonus on a partner activity when its miles post (at once when it
is recorded, or at night when its pending period ends), in that transaction. The desk is opened before the
activities are written (the members' facts as they were before them), under the members' locks; the
budgets the activities may spend are locked after the members, as every path that spends them does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from miles.adapters.db.promotions.awards import NewAward, UseRow
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.calendar import local_date
from miles.domain.promotions.evaluation import ActivityFacts, MemberFacts, Progress, evaluate_activity
from miles.domain.promotions.model import Promotion, Trigger
from miles.services.promotions.earning import PROMOTION


@dataclass(frozen=True)
class PostedActivity:
    activity_pk: int  # partner_activities.id
    member_id: int
    account_id: int
    partner: str
    kind: str
    activity_date: date
    miles: int
    event_at: datetime
    expires_date: date | None  # its lot's (the bonus's lot expires with it)


@dataclass
class PartnerDesk:
    promotions: list[Promotion]
    budgets: dict[int, int]  # miles left in the locked budgets
    facts: dict[int, MemberFacts]
    progress: dict[int, dict[int, Progress]]  # member id -> promotion id -> use so far

    @classmethod
    def open(
        cls, uow: UnitOfWork, member_ids: list[int], days: list[date], posted_at: datetime, timezone: str
    ) -> PartnerDesk | None:
        """The desk for activities of these members dated `days` (None: no partner promotion runs then)."""
        if not member_ids or not days:
            return None
        live = [
            p for p in uow.campaigns.live(min(days), max(days), posted_at) if p.trigger is Trigger.PARTNER
        ]
        if not live:
            return None
        ids = sorted(set(member_ids))
        budgets = uow.promotion_awards.lock_budgets([p.id for p in live if p.limits.budget_miles is not None])
        use = uow.promotion_awards.use(ids, [p.id for p in live])
        facts: dict[int, MemberFacts] = {}
        progress: dict[int, dict[int, Progress]] = {mid: {} for mid in ids}
        registrations: dict[int, dict[int, date]] = {mid: {} for mid in ids}
        for (mid, pid), row in use.items():
            progress[mid][pid] = Progress(row.miles, row.times, row.segments, row.runs)
            if row.registered_on is not None:
                registrations[mid][pid] = row.registered_on
        for mid, tier, created_at, last_activity in uow.members.promotion_facts(ids):
            facts[mid] = MemberFacts(
                tier, local_date(created_at, timezone), last_activity, True, registrations[mid]
            )
        return cls(live, budgets, facts, progress)

    def award(self, uow: UnitOfWork, posted: list[PostedActivity], posted_at: datetime) -> int:
        """Give the bonuses the activities earn (their miles posted in this transaction); the miles given."""
        rows: list[NewAward] = []
        spent: dict[int, int] = {}
        touched: set[tuple[int, int]] = set()
        for a in posted:
            mine = self.progress[a.member_id]
            before = dict(self.budgets)
            facts = ActivityFacts(a.partner, a.kind, a.activity_date, a.miles)
            outcome = evaluate_activity(
                self.promotions, facts, self.facts[a.member_id], mine, self.budgets, posted_at
            )
            for pid, left in self.budgets.items():
                spent[pid] = spent.get(pid, 0) + before[pid] - left
            source = uow.ledger.programme_account(PROMOTION, a.member_id)
            for award in outcome.awards:
                touched.add((a.member_id, award.promotion.id))
                rows.append(
                    NewAward(
                        promotion_id=award.promotion.id,
                        member_id=a.member_id,
                        account_id=a.account_id,
                        source_account_id=source,
                        accrual_id=None,
                        birthday_year=None,
                        miles=award.miles,
                        metric=None,
                        amount=None,
                        event_at=a.event_at,
                        earned_date=a.activity_date,
                        expires_date=a.expires_date,
                        partner_activity_id=a.activity_pk,
                    )
                )
                uow.ledger.add_balance_change(source, -award.miles)
                uow.ledger.add_balance_change(a.account_id, award.miles)
        if not rows:
            return 0
        use = [
            UseRow(pid, mid, self.facts[mid].registrations.get(pid), p.miles, p.times, p.segments, p.runs)
            for mid, pid in sorted(touched)
            if (p := self.progress[mid][pid]) is not None
        ]
        uow.promotion_awards.record(rows, [], use, spent)
        return sum(r.miles for r in rows)
