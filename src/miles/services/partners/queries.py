"""Reading partner activities: one by its partner's id, a member's pending and recent ones."""

from __future__ import annotations

from dataclasses import dataclass

from miles.domain.errors import NotFound
from miles.services.clock import today
from miles.services.members import find_member
from miles.services.partners.activities import contract_of
from miles.services.partners.views import ActivityView, activity_view
from miles.services.runtime import Runtime


def read_activity(runtime: Runtime, partner: str, activity_id: str) -> ActivityView:
    with runtime.uow() as uow:
        book = runtime.catalog.current(uow)
        contract = contract_of(book.in_force(today(runtime.clock, book.versions[-1].timezone)), partner)
        stored = uow.partner_activities.find(partner, [activity_id]).get(activity_id)
        if stored is None:
            raise NotFound(
                f"no activity {activity_id!r} of {partner}", field="activity_id", code="activity_not_found"
            )
        return activity_view(stored, contract)


@dataclass(frozen=True)
class MemberPartnerActivity:
    pending_miles: int
    activities: list[ActivityView]  # newest first


def member_partner_activity(runtime: Runtime, member_number: str, limit: int = 50) -> MemberPartnerActivity:
    """The member's pending partner miles and their latest partner activities (any status)."""
    with runtime.uow() as uow:
        member = find_member(uow, member_number)
        partners = runtime.catalog.current(uow).versions[-1].partners
        rows = uow.partner_activities.of_member(member.id, limit)
        pending = uow.partner_activities.pending_miles(member.id)
    return MemberPartnerActivity(pending, [activity_view(r, partners.get(r.partner)) for r in rows])
