"""What the API, the CLI and the console show of partner activities."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from miles.adapters.db.partners.activities import StoredActivity
from miles.domain.partners.contracts import PartnerContract


@dataclass(frozen=True)
class ActivityView:
    partner: str
    partner_name: str
    activity_id: str
    member_number: str
    activity_date: date
    kind: str
    miles: int
    status: str  # pending | posted | cancelled | reversed
    posts_on: date | None = None  # while pending
    reversed_on: date | None = None


def activity_view(stored: StoredActivity, contract: PartnerContract | None) -> ActivityView:
    return ActivityView(
        partner=stored.partner,
        partner_name=contract.name if contract is not None else stored.partner,
        activity_id=stored.activity_id,
        member_number=stored.member_number,
        activity_date=stored.activity_date,
        kind=stored.kind,
        miles=stored.miles,
        status=stored.status,
        posts_on=stored.posts_on if stored.status == "pending" else None,
        reversed_on=stored.reversed_on,
    )


def partner_name(partners: Mapping[str, PartnerContract], code: str) -> str:
    """The partner's name as the programme in force gives it (its code when it has left the programme)."""
    contract = partners.get(code)
    return contract.name if contract is not None else code
