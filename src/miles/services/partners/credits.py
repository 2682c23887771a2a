"""Qualifying credits of partner activities (a contract's `credits`): added to the member's totals when the
activity posts, in the period its date falls in (the member's own period under rolling qualification), the
lifetime metric's total too. A tier they reach is given by the next nightly run (its upgrades step), as for
any credit the accrual did not apply."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from miles.adapters.db.standing import StatusCredit, metric_values
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.programme.model import Programme


@dataclass(frozen=True)
class PostedCredit:
    activity_pk: int  # partner_activities.id
    member_id: int
    activity_date: date
    credits: dict[str, Decimal]
    event_at: datetime


def parse_credits(stored: str | dict[str, str] | None) -> dict[str, Decimal]:
    """An activity's stored credits (JSON text or a decoded object) by metric code."""
    if not stored:
        return {}
    raw = json.loads(stored) if isinstance(stored, str) else stored
    return {code: Decimal(value) for code, value in raw.items()}


def credit_posted(
    uow: UnitOfWork, programme: Programme, codes: tuple[str, ...], posted: list[PostedCredit]
) -> None:
    """Credit the qualifying metrics of activities that posted now (their members are locked)."""
    posted = [p for p in posted if p.credits]
    if not posted:
        return
    rules = programme.qualification
    periods = uow.standing.periods_of(sorted({p.member_id for p in posted})) if rules.rolling else {}
    lifetime = rules.lifetime_metric
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    credits = []
    for p in posted:
        period = rules.period_for(p.activity_date, periods.get(p.member_id))
        values = metric_values(codes, p.credits)
        credits.append(StatusCredit(p.member_id, period.start, values, None, p.event_at, p.activity_pk))
        if lifetime is not None and lifetime in p.credits:
            deltas[p.member_id] += p.credits[lifetime]
    uow.standing.credit("partner", credits)
    uow.standing.add_lifetime(dict(deltas))


def take_back(uow: UnitOfWork, programme: Programme, activity_pk: int, member_id: int, at: datetime) -> None:
    """A reversed activity's qualifying credits, taken back from the periods they went to."""
    given = uow.standing.credits_of_partner_activity(activity_pk)
    if not given:
        return
    uow.standing.credit(
        "partner_reversal",
        [
            StatusCredit(member_id, start, [-v for v in metrics], None, at, activity_pk)
            for start, metrics in given
        ],
    )
    lifetime = programme.qualification.lifetime_metric
    if lifetime is not None and lifetime in programme.metric_codes:
        position = programme.metric_codes.index(lifetime)
        taken = sum((m[position] for _, m in given if position < len(m)), Decimal(0))
        uow.standing.add_lifetime({member_id: -taken})
