"""Members: enrolment and the member's summary."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from miles.adapters.db.members import MemberRecord
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import InvalidInput, NotFound
from miles.domain.member_numbers import member_number_from_sequence, validate_member_number
from miles.services.clock import Clock, today
from miles.services.idempotency import IdempotencyKey, Outcome, once
from miles.services.ledger_views import MemberView, QualifyingView
from miles.services.programmes import ProgrammeCatalog
from miles.services.runtime import Runtime

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
    uow.members.add(
        number, new.given_name.strip(), new.family_name.strip(), new.email.strip(), new.birth_date
    )
    return summary_of(uow, catalog, clock, number)


def enrol_once(runtime: Runtime, new: NewMember, key: IdempotencyKey | None) -> Outcome[MemberView]:
    """Enrol a member, once per idempotency key (a replay answers the first enrolment)."""
    with runtime.uow() as uow:
        return once(uow, key, MemberView, lambda: enrol(uow, runtime.catalog, runtime.clock, new))


def find_member(uow: UnitOfWork, number: str, year: int) -> MemberRecord:
    validate_member_number(number)
    record = uow.members.get(number, year)
    if record is None:
        raise NotFound(f"no member {number}", field="member_number", code="member_not_found")
    return record


def member_summary(runtime: Runtime, number: str) -> MemberView:
    """A member's summary: who they are, their tier, balances and this year's qualifying activity."""
    with runtime.uow() as uow:
        return summary_of(uow, runtime.catalog, runtime.clock, number)


def summary_of(uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock, number: str) -> MemberView:
    """The member's summary in the caller's transaction (a step)."""
    book = catalog.current(uow)
    year = today(clock, book.in_force(clock.now().date()).timezone).year
    return member_view(find_member(uow, number, year), year)


def member_view(record: MemberRecord, year: int) -> MemberView:
    s = record.standing
    return MemberView(
        member_number=record.member_number,
        given_name=record.given_name,
        family_name=record.family_name,
        email=record.email,
        birth_date=record.birth_date,
        tier=s.tier.name,
        tier_valid_until=s.tier_valid_until,
        lifetime_tier=s.lifetime_tier.name,
        award_miles=record.balance,
        pending_miles=record.pending,
        available_miles=record.balance - record.pending,
        lifetime_status_miles=s.lifetime_status_miles,
        qualifying=QualifyingView(
            year=year,
            status_miles=s.qualifying_status_miles,
            segments=s.qualifying_segments,
            spend_usd=record.qualifying_spend_usd,
        ),
        created_at=record.created_at,
    )
