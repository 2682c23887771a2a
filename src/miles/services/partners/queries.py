"""Reading a partner activity by its partner's id."""

from __future__ import annotations

from miles.domain.errors import NotFound
from miles.services.partners.activities import contract_of, programme_now
from miles.services.partners.views import ActivityView, activity_view
from miles.services.runtime import Runtime


def read_activity(runtime: Runtime, partner: str, activity_id: str) -> ActivityView:
    with runtime.uow() as uow:
        contract = contract_of(programme_now(runtime.catalog.current(uow), runtime.clock), partner)
        stored = uow.partner_activities.find(partner, [activity_id]).get(activity_id)
        if stored is None:
            raise NotFound(
                f"no activity {activity_id!r} of {partner}", field="activity_id", code="activity_not_found"
            )
        return activity_view(stored, contract)
