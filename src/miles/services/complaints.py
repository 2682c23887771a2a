"""Complaints and service recovery: an agent records a member's complaint (category, text, and at once or
later its resolution), linked to the goodwill granted for it; the service-recovery report compares the 12
months after a complaint for members who were compensated and those who were not.

Every change is audited in its own transaction; a refusal writes nothing. The rules are
miles.domain.complaints; the SQL, the report's included, miles.adapters.db.complaints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from miles.adapters.db.complaints import ComplaintRecord, ComplaintRepository, GoodwillChoice
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.agents import Actor
from miles.domain.calendar import add_months
from miles.domain.complaints import (
    CATEGORY_NAMES,
    FOLLOW_MONTHS,
    Differences,
    GroupCounts,
    GroupFigures,
    differences,
    group_figures,
    validate_complaint,
    validate_report_range,
    validate_resolution,
)
from miles.domain.errors import Conflict, InvalidInput, NotFound
from miles.domain.member_numbers import validate_member_number
from miles.domain.validation import Problems
from miles.services import audit
from miles.services.award_desk import desk_owner
from miles.services.clock import start_of_day, today
from miles.services.idempotency import keyed_request, once
from miles.services.runtime import Runtime

RECORD = "complaint.record"
LIST_LIMIT = 50
GOODWILL_CHOICES = 50


@dataclass(frozen=True)
class ComplaintView:
    complaint_id: int
    member_number: str
    category: str
    category_name: str
    description: str
    resolution: str | None
    goodwill_id: int | None
    goodwill_miles: int | None
    goodwill_status: str | None
    recorded_by: str
    recorded_at: datetime
    resolved_at: datetime | None

    @property
    def open(self) -> bool:
        return self.resolution is None


def _view(record: ComplaintRecord, member_number: str) -> ComplaintView:
    return ComplaintView(
        complaint_id=record.id,
        member_number=member_number,
        category=record.category,
        category_name=CATEGORY_NAMES.get(record.category, record.category),
        description=record.description,
        resolution=record.resolution,
        goodwill_id=record.goodwill_id,
        goodwill_miles=record.goodwill_miles,
        goodwill_status=record.goodwill_status,
        recorded_by=record.recorded_by,
        recorded_at=record.recorded_at,
        resolved_at=record.resolved_at,
    )


def _locked_member(repo: ComplaintRepository, member_number: str) -> int:
    validate_member_number(member_number)
    member_id = repo.lock_member(member_number)
    if member_id is None:
        raise NotFound(f"no member {member_number}", field="member_number", code="member_not_found")
    return member_id


def _check_goodwill(repo: ComplaintRepository, member_id: int, goodwill_id: int) -> None:
    """The goodwill is the member's and no complaint names it yet (read under the member's lock)."""
    if repo.goodwill_owner(goodwill_id) != member_id:
        raise InvalidInput(
            f"goodwill {goodwill_id} is not one of this member's adjustments",
            field="goodwill_id",
            code="goodwill_not_members",
        )
    linked = repo.complaint_of_goodwill(goodwill_id)
    if linked is not None:
        raise Conflict(
            f"goodwill {goodwill_id} is already linked to complaint {linked}",
            field="goodwill_id",
            code="goodwill_already_linked",
        )


def _read(repo: ComplaintRepository, complaint_id: int, member_number: str) -> ComplaintView:
    record = repo.get(complaint_id)
    assert record is not None
    return _view(record, member_number)


def record_complaint(
    runtime: Runtime,
    actor: Actor,
    member_number: str,
    category: str,
    description: str,
    resolution: str | None = None,
    goodwill_id: int | None = None,
    *,
    request_key: str | None = None,
) -> ComplaintView:
    """Record a member's complaint, resolved at once when `resolution` is given, linked to `goodwill_id`
    (one of the member's goodwill adjustments no complaint names yet) when given. Once per `request_key`
    of the actor (a form sent twice records one complaint)."""
    validate_complaint(category, description, resolution)
    request = [member_number, category, description, resolution, goodwill_id]
    keyed = keyed_request(desk_owner(actor), RECORD, request_key, request)
    with runtime.uow() as uow:
        return once(
            uow,
            keyed,
            ComplaintView,
            lambda: _record(
                uow, runtime, actor, member_number, category, description, resolution, goodwill_id
            ),
        ).value


def _record(
    uow: UnitOfWork,
    runtime: Runtime,
    actor: Actor,
    member_number: str,
    category: str,
    description: str,
    resolution: str | None,
    goodwill_id: int | None,
) -> ComplaintView:
    repo = ComplaintRepository(uow.connection)
    member_id = _locked_member(repo, member_number)
    if goodwill_id is not None:
        _check_goodwill(repo, member_id, goodwill_id)
    now = runtime.clock.now()
    complaint_id = repo.add(member_id, category, description, actor.name, now, resolution, goodwill_id)
    audit.record(
        uow,
        runtime.clock,
        actor,
        "complaint.recorded",
        member_id=member_id,
        subject=f"complaint:{complaint_id}",
        reason=f"{CATEGORY_NAMES[category]}: {description}"[:500],
        details={"category": category, "resolved": resolution is not None}
        | ({"goodwill_id": goodwill_id} if goodwill_id is not None else {}),
    )
    return _read(repo, complaint_id, member_number)


def _complaint_of(repo: ComplaintRepository, member_id: int, complaint_id: int) -> ComplaintRecord:
    record = repo.get(complaint_id, lock=True)
    if record is None or record.member_id != member_id:
        raise NotFound(f"no complaint {complaint_id} for this member", code="complaint_not_found")
    return record


def update_complaint(
    runtime: Runtime,
    actor: Actor,
    member_number: str,
    complaint_id: int,
    resolution: str | None = None,
    goodwill_id: int | None = None,
) -> ComplaintView:
    """Resolve an open complaint and/or link the goodwill granted for it, in one transaction: each is
    written once (a second resolution, or a second goodwill, is a Conflict)."""
    problems = Problems()
    if resolution is None and goodwill_id is None:
        problems.add("give a resolution or choose the goodwill granted for it", field="resolution")
    if resolution is not None:
        problems.check(lambda: validate_resolution(resolution))
    problems.raise_any()
    with runtime.uow() as uow:
        repo = ComplaintRepository(uow.connection)
        member_id = _locked_member(repo, member_number)
        record = _complaint_of(repo, member_id, complaint_id)
        now = runtime.clock.now()
        if resolution is not None:
            if record.resolution is not None or not repo.resolve(complaint_id, resolution, now):
                raise Conflict(
                    f"complaint {complaint_id} was already resolved",
                    field="resolution",
                    code="already_resolved",
                )
            audit.record(
                uow,
                runtime.clock,
                actor,
                "complaint.resolved",
                member_id=member_id,
                subject=f"complaint:{complaint_id}",
                reason=resolution[:500],
            )
        if goodwill_id is not None:
            if record.goodwill_id is not None:
                raise Conflict(
                    f"complaint {complaint_id} is already linked to goodwill {record.goodwill_id}",
                    field="goodwill_id",
                    code="complaint_already_linked",
                )
            _check_goodwill(repo, member_id, goodwill_id)
            if not repo.link_goodwill(complaint_id, goodwill_id):  # pragma: no cover - held by the lock
                raise Conflict(f"complaint {complaint_id} is already linked", code="complaint_already_linked")
            audit.record(
                uow,
                runtime.clock,
                actor,
                "complaint.goodwill_linked",
                member_id=member_id,
                subject=f"complaint:{complaint_id}",
                details={"goodwill_id": goodwill_id},
            )
        return _read(repo, complaint_id, member_number)


def resolve_complaint(
    runtime: Runtime, actor: Actor, member_number: str, complaint_id: int, resolution: str
) -> ComplaintView:
    """Write an open complaint's resolution (once)."""
    return update_complaint(runtime, actor, member_number, complaint_id, resolution=resolution)


def link_goodwill(
    runtime: Runtime, actor: Actor, member_number: str, complaint_id: int, goodwill_id: int
) -> ComplaintView:
    """Link the goodwill granted for a complaint (once; the member's own, not linked elsewhere)."""
    return update_complaint(runtime, actor, member_number, complaint_id, goodwill_id=goodwill_id)


# --- reads -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoodwillOption:
    goodwill_id: int
    miles: int
    reason_code: str
    status: str
    requested_at: datetime


@dataclass(frozen=True)
class MemberComplaints:
    member_number: str
    complaints: list[ComplaintView]  # newest first
    goodwill_options: list[GoodwillOption]  # the member's goodwill no complaint names yet


def _option(choice: GoodwillChoice) -> GoodwillOption:
    return GoodwillOption(choice.id, choice.miles, choice.reason_code, choice.status, choice.requested_at)


def member_complaints(runtime: Runtime, member_number: str, limit: int = LIST_LIMIT) -> MemberComplaints:
    """A member's complaints, newest first, with the goodwill adjustments a complaint may still name."""
    validate_member_number(member_number)
    with runtime.uow() as uow:
        return _member_complaints(uow, member_number, limit)


def _member_complaints(uow: UnitOfWork, member_number: str, limit: int) -> MemberComplaints:
    repo = ComplaintRepository(uow.connection)
    member_id = repo.member_id(member_number)
    if member_id is None:
        raise NotFound(f"no member {member_number}", field="member_number", code="member_not_found")
    return MemberComplaints(
        member_number=member_number,
        complaints=[_view(r, member_number) for r in repo.for_member(member_id, limit)],
        goodwill_options=[_option(c) for c in repo.unlinked_goodwill(member_id, GOODWILL_CHOICES)],
    )


# --- the service-recovery report ---------------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryReport:
    from_date: date
    to_date: date
    as_of: date
    follow_months: int
    compensated: GroupFigures
    not_compensated: GroupFigures
    difference: Differences  # compensated less not compensated


def service_recovery_report(
    runtime: Runtime, from_date: date, to_date: date, as_of: date | None = None
) -> RecoveryReport:
    """The complaints recorded from `from_date` to `to_date` (both included, in the programme's time zone),
    each member followed for 12 months after their complaint, cut at `as_of` (by default today in the
    programme's time zone): compensated vs not."""
    validate_report_range(from_date, to_date)
    with runtime.uow() as uow:
        programme = runtime.catalog.current(uow).in_force(runtime.clock.now().date())
        zone = programme.timezone
        day = as_of if as_of is not None else today(runtime.clock, zone)
        since, until = start_of_day(from_date, zone), start_of_day(to_date + timedelta(days=1), zone)
        counts = ComplaintRepository(uow.connection).report(zone, since, until, day)
    empty = GroupCounts(0, 0, 0, 0, 0, 0, 0, 0)
    compensated = group_figures(True, counts.get(True, empty))
    not_compensated = group_figures(False, counts.get(False, empty))
    return RecoveryReport(
        from_date=from_date,
        to_date=to_date,
        as_of=day,
        follow_months=FOLLOW_MONTHS,
        compensated=compensated,
        not_compensated=not_compensated,
        difference=differences(compensated, not_compensated),
    )


def default_report_range(runtime: Runtime) -> tuple[date, date]:
    """The range a report page opens on: the complaints of the last 24 months (the older half of them
    followed for their whole 12 months), to today in the programme's time zone."""
    with runtime.uow() as uow:
        programme = runtime.catalog.current(uow).in_force(runtime.clock.now().date())
    day = today(runtime.clock, programme.timezone)
    return add_months(day, -2 * FOLLOW_MONTHS), day
