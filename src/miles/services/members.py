"""Members: enrolment and the member's summary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from miles.adapters.db.members import MemberRecord
from miles.adapters.db.standing import metric_mapping
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import InvalidInput, NotFound
from miles.domain.member_numbers import member_number_from_sequence, validate_member_number
from miles.domain.programme.model import Programme
from miles.programme.reading import ProgrammeBook
from miles.services.clock import Clock, today
from miles.services.idempotency import IdempotencyKey, Outcome, once
from miles.services.ledger_views import STATUS_MILES, MemberView, metric_values, qualifying_view
from miles.services.programmes import ProgrammeCatalog
from miles.services.runtime import Runtime
from miles.services.segments import MemberSegmentView, member_segment

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class NewMember:
    given_name: str
    family_name: str
    email: str
    birth_date: date | None = None


def enrol(uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock, new: NewMember) -> MemberView:
    """Enrol a member in the caller's transaction (a step: `enrol_once` is the use case)."""
    for name in ("given_name", "family_name"):
        value = getattr(new, name).strip()
        if not value or len(value) > 100:
            raise InvalidInput("a name is 1 to 100 characters", field=name)
    if not EMAIL.match(new.email) or len(new.email) > 254:
        raise InvalidInput("not an e-mail address", field="email")
    book = catalog.current(uow)
    now_date = today(clock, book.in_force(clock.now().date()).timezone)
    if new.birth_date is not None and not (date(1900, 1, 1) <= new.birth_date <= now_date):
        raise InvalidInput("the birth date must be between 1900-01-01 and today", field="birth_date")
    number = member_number_from_sequence(uow.members.next_sequence())
    base = book.in_force(now_date).ladder.base.code
    uow.members.add(
        number,
        new.given_name.strip(),
        new.family_name.strip(),
        new.email.strip(),
        new.birth_date,
        base,
        now_date,
    )
    return summary_of(uow, catalog, clock, number)


def enrol_once(runtime: Runtime, new: NewMember, key: IdempotencyKey | None) -> Outcome[MemberView]:
    """Enrol a member, once per idempotency key (a replay answers the first enrolment)."""
    with runtime.uow() as uow:
        return once(uow, key, MemberView, lambda: enrol(uow, runtime.catalog, runtime.clock, new))


def find_member(uow: UnitOfWork, number: str, period: date | None = None) -> MemberRecord:
    """The member with the totals of the period starting `period` (None: their own rolling period)."""
    validate_member_number(number)
    record = uow.members.get(number, period)
    if record is None:
        raise NotFound(f"no member {number}", field="member_number", code="member_not_found")
    return record


def member_read(runtime: Runtime, number: str) -> tuple[MemberView, MemberSegmentView]:
    """A member's summary, and the retention segment and flags the last nightly run gave them."""
    with runtime.uow() as uow:
        view = summary_of(uow, runtime.catalog, runtime.clock, number)
        return view, member_segment(uow, view.member_number)


def current_period(programme: Programme, day: date) -> date | None:
    """The start of the fixed period holding `day` (None with rolling periods: each member's own)."""
    rules = programme.qualification
    return None if rules.rolling else rules.fixed_period(day).start


def summary_of(uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock, number: str) -> MemberView:
    """The member's summary in the caller's transaction (a step)."""
    book = catalog.current(uow)
    programme = book.in_force(clock.now().date())
    day = today(clock, programme.timezone)
    return member_view(book, find_member(uow, number, current_period(programme, day)), day)


def period_totals(book: ProgrammeBook, record: MemberRecord) -> dict[str, Decimal]:
    """The totals that came with the record, by metric code."""
    return metric_mapping(book.metric_codes, record.totals)


def member_view(book: ProgrammeBook, record: MemberRecord, day: date) -> MemberView:
    """The member's view on `day`, their qualifying totals those of the record's period."""
    programme = book.in_force(day)
    s = record.standing
    period = programme.qualification.period_for(record.totals_period, record.totals_period)
    totals = period_totals(book, record)
    lifetime = programme.qualification.lifetime_metric
    return MemberView(
        member_number=record.member_number,
        given_name=record.given_name,
        family_name=record.family_name,
        email=record.email,
        birth_date=record.birth_date,
        tier=s.tier,
        tier_valid_until=s.tier_valid_until,
        lifetime_tier=s.lifetime_tier,
        award_miles=record.balance,
        pending_miles=record.pending,
        available_miles=record.balance - record.pending,
        lifetime_status_miles=int(s.lifetime_total) if lifetime == STATUS_MILES else 0,
        qualifying=qualifying_view(period.start, period.end, metric_values(programme, totals)),
        created_at=record.created_at,
        partner_pending_miles=record.partner_pending,
    )
