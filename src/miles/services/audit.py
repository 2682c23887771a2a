"""The audit trail of agents' changes: every use case that changes something on an agent's behalf
records who, when, what and why in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from miles.adapters.db.audit import AuditRecord
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.agents import Actor
from miles.domain.errors import InvalidInput
from miles.domain.member_numbers import validate_member_number
from miles.services.clock import Clock
from miles.services.runtime import Runtime

ACTIONS: dict[str, str] = {
    "agent.created": "Console user created",
    "session.signed_in": "Signed in",
    "session.signed_out": "Signed out",
    "goodwill.applied": "Goodwill miles applied",
    "goodwill.requested": "Goodwill miles requested (waits for a supervisor)",
    "goodwill.approved": "Goodwill request approved",
    "goodwill.rejected": "Goodwill request rejected",
    "claim.posted": "Missing-miles claim posted",
    "redemption.booked": "Award booked",
    "redemption.cancelled": "Award cancelled",
    "member.tier_granted": "Tier granted",
    "complaint.recorded": "Complaint recorded",
    "complaint.resolved": "Complaint resolved",
    "complaint.goodwill_linked": "Goodwill linked to a complaint",
}
PAGE = 50


def describe_action(action: str) -> str:
    return ACTIONS.get(action, action.replace(".", ": ").replace("_", " "))


def record(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    action: str,
    *,
    member_id: int | None = None,
    subject: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    return uow.audit.add(
        clock.now(), actor.name, actor.agent_id, action, member_id, subject, reason, details or {}
    )


def member_trail(uow: UnitOfWork, member_id: int, limit: int = 50) -> list[AuditRecord]:
    return uow.audit.for_member(member_id, limit)


def audit_page(
    runtime: Runtime,
    viewer: Actor,
    *,
    before: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    member_number: str | None = None,
    limit: int = PAGE,
) -> tuple[list[AuditRecord], int | None]:
    """A page of the whole trail, newest first (supervisors only), and the id to read the next page from."""
    viewer.require_supervisor()
    if member_number:
        validate_member_number(member_number)
    if action and not all(c.isalnum() or c in "._" for c in action):
        raise InvalidInput("an action is letters, dots and underscores", field="action")
    with runtime.uow() as uow:
        rows = uow.audit.page(before, actor or None, action or None, member_number or None, limit + 1)
    next_before = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_before
