"""Goodwill adjustments: an agent grants miles with a reason code and a comment. Up to the programme's
agent limit they are posted at once, from the programme's `goodwill` account to the member, as a new
earn lot; above it the request waits in the supervisors' queue until one (not the requester) approves
or rejects it. Every step is audited in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from miles.adapters.db.goodwill import AdjustmentRecord
from miles.adapters.db.ledger import Posting
from miles.adapters.db.members import MemberRecord
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.agents import Actor
from miles.domain.approvals import check_decider, decision_note
from miles.domain.errors import Conflict, NotFound
from miles.domain.goodwill import (
    APPLIED,
    APPROVED,
    PENDING,
    REASONS,
    REJECTED,
    approval_reason,
    lot_expiry,
    memo,
    needs_approval,
    validate_goodwill,
)
from miles.domain.ledger import GOODWILL
from miles.domain.member_numbers import validate_member_number
from miles.domain.programme.model import Programme
from miles.domain.validation import Problems
from miles.services import audit
from miles.services.clock import Clock, start_of_day, today
from miles.services.programmes import ProgrammeCatalog
from miles.services.runtime import Runtime


@dataclass(frozen=True)
class AdjustmentView:
    adjustment_id: int
    member_number: str
    member_name: str
    miles: int
    reason_code: str
    reason: str
    comment: str
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    transfer_id: int | None

    @property
    def applied(self) -> bool:
        return self.status in (APPLIED, APPROVED)


def adjustment_view(record: AdjustmentRecord) -> AdjustmentView:
    return AdjustmentView(
        adjustment_id=record.id,
        member_number=record.member_number,
        member_name=f"{record.given_name} {record.family_name}",
        miles=record.miles,
        reason_code=record.reason_code,
        reason=REASONS.get(record.reason_code, record.reason_code),
        comment=record.comment,
        status=record.status,
        requested_by=record.requested_by,
        requested_at=record.requested_at,
        decided_by=record.decided_by,
        decided_at=record.decided_at,
        decision_note=record.decision_note,
        transfer_id=record.transfer_id,
    )


def _programme(uow: UnitOfWork, catalog: ProgrammeCatalog, clock: Clock) -> Programme:
    return catalog.current(uow).in_force(clock.now().date())


def agent_limit(runtime: Runtime) -> int:
    """The goodwill an agent may grant without a supervisor (the programme in force says)."""
    with runtime.uow() as uow:
        return _programme(uow, runtime.catalog, runtime.clock).goodwill_agent_limit


def _post(
    uow: UnitOfWork, clock: Clock, programme: Programme, member: MemberRecord, miles: int, text: str
) -> int:
    """The ledger transfer goodwill -> member, with the earn lot it opens (activity date: today)."""
    earned = today(clock, programme.timezone)
    return uow.ledger.post(
        Posting(
            from_account_id=uow.ledger.programme_account(GOODWILL, member.id),
            to_account_id=member.account_id,
            amount=miles,
            code="goodwill",
            event_at=clock.now(),
            memo=text,
        ),
        lot_member_id=member.id,
        earned_date=earned,
        expires_date=lot_expiry(programme, earned),
    )


def _granted_today(uow: UnitOfWork, clock: Clock, programme: Programme, member: MemberRecord) -> int:
    """Goodwill applied to the member without a supervisor on the programme's today. The caller holds
    the member's row lock, so two grants raced for one member see each other's miles."""
    day = today(clock, programme.timezone)
    since = start_of_day(day, programme.timezone)
    until = start_of_day(day + timedelta(days=1), programme.timezone)
    return uow.goodwill.applied_between(member.id, since, until)


def request_goodwill(
    uow: UnitOfWork,
    catalog: ProgrammeCatalog,
    clock: Clock,
    actor: Actor,
    member_number: str,
    miles: int,
    reason_code: str,
    comment: str,
) -> AdjustmentView:
    """The adjustment, applied now or waiting for a supervisor. Once per key: see
    services.adjustment_requests.grant_goodwill."""
    problems = Problems()
    problems.check(lambda: validate_member_number(member_number))
    problems.check(lambda: validate_goodwill(miles, reason_code, comment))
    problems.raise_any()
    comment = comment.strip()
    programme = _programme(uow, catalog, clock)
    member = uow.members.lock(member_number)
    if member is None:
        raise NotFound(f"no member {member_number}", field="member_number", code="member_not_found")
    now = clock.now()
    granted_today = _granted_today(uow, clock, programme, member)  # read under the member's lock
    waits = needs_approval(miles, programme, granted_today)
    transfer_id = None if waits else _post(uow, clock, programme, member, miles, memo(reason_code, comment))
    adjustment_id = uow.goodwill.add(
        member.id,
        miles,
        reason_code,
        comment,
        PENDING if waits else APPLIED,
        actor.name,
        actor.agent_id,
        now,
        transfer_id,
    )
    audit.record(
        uow,
        clock,
        actor,
        "goodwill.requested" if waits else "goodwill.applied",
        member_id=member.id,
        subject=f"goodwill:{adjustment_id}",
        reason=f"{REASONS[reason_code]}: {comment}",
        details={
            "miles": miles,
            "reason_code": reason_code,
            "agent_limit": programme.goodwill_agent_limit,
            "member_daily_limit": programme.goodwill_member_daily_limit,
            "granted_today": granted_today,
        }
        | ({"waits": approval_reason(miles, programme, granted_today)} if waits else {})
        | ({} if waits else {"transfer_id": transfer_id}),
    )
    record = uow.goodwill.get(adjustment_id)
    assert record is not None
    return adjustment_view(record)


def _pending_for_decision(uow: UnitOfWork, actor: Actor, adjustment_id: int) -> AdjustmentRecord:
    actor.require_supervisor()
    record = uow.goodwill.get(adjustment_id, lock=True)
    if record is None:
        raise NotFound(f"no goodwill request {adjustment_id}", code="adjustment_not_found")
    if record.status != PENDING:
        raise Conflict(
            f"goodwill request {adjustment_id} was already {record.status.lower()} by {record.decided_by}",
            code="already_decided",
        )
    check_decider(record.requested_by_agent_id, actor, "goodwill request")
    return record


def approve_goodwill(runtime: Runtime, actor: Actor, adjustment_id: int, note: str | None) -> AdjustmentView:
    """A supervisor approves a waiting goodwill request: its miles are posted now."""
    with runtime.uow() as uow:
        return _approve(uow, runtime.catalog, runtime.clock, actor, adjustment_id, note)


def _approve(
    uow: UnitOfWork,
    catalog: ProgrammeCatalog,
    clock: Clock,
    actor: Actor,
    adjustment_id: int,
    note: str | None,
) -> AdjustmentView:
    record = _pending_for_decision(uow, actor, adjustment_id)
    text = decision_note(note, required=False, what="request")
    programme = _programme(uow, catalog, clock)
    member = uow.members.lock(record.member_number)
    assert member is not None
    transfer_id = _post(uow, clock, programme, member, record.miles, memo(record.reason_code, record.comment))
    uow.goodwill.decide(adjustment_id, APPROVED, actor.name, actor.agent_id, clock.now(), text, transfer_id)
    audit.record(
        uow,
        clock,
        actor,
        "goodwill.approved",
        member_id=record.member_id,
        subject=f"goodwill:{adjustment_id}",
        reason=text or f"approved the request of {record.requested_by}",
        details={"miles": record.miles, "requested_by": record.requested_by, "transfer_id": transfer_id},
    )
    decided = uow.goodwill.get(adjustment_id)
    assert decided is not None
    return adjustment_view(decided)


def reject_goodwill(runtime: Runtime, actor: Actor, adjustment_id: int, note: str | None) -> AdjustmentView:
    """A supervisor rejects a waiting goodwill request, with a note: nothing is posted."""
    with runtime.uow() as uow:
        return _reject(uow, runtime.clock, actor, adjustment_id, note)


def _reject(
    uow: UnitOfWork, clock: Clock, actor: Actor, adjustment_id: int, note: str | None
) -> AdjustmentView:
    record = _pending_for_decision(uow, actor, adjustment_id)
    text = decision_note(note, required=True, what="request")
    uow.goodwill.decide(adjustment_id, REJECTED, actor.name, actor.agent_id, clock.now(), text, None)
    audit.record(
        uow,
        clock,
        actor,
        "goodwill.rejected",
        member_id=record.member_id,
        subject=f"goodwill:{adjustment_id}",
        reason=text,
        details={"miles": record.miles, "requested_by": record.requested_by},
    )
    decided = uow.goodwill.get(adjustment_id)
    assert decided is not None
    return adjustment_view(decided)


def approval_queue(runtime: Runtime, actor: Actor, limit: int = 100) -> list[AdjustmentView]:
    """The goodwill requests waiting for a supervisor (supervisors only)."""
    actor.require_supervisor()
    with runtime.uow() as uow:
        return [adjustment_view(r) for r in uow.goodwill.pending(limit)]


def member_adjustments(uow: UnitOfWork, member_id: int, limit: int = 20) -> list[AdjustmentView]:
    return [adjustment_view(r) for r in uow.goodwill.for_member(member_id, limit)]
