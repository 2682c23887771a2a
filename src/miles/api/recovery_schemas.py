"""The answer of /v1/analytics/service-recovery (pydantic, at the edge): the two groups side by side,
shares to four places and averages to two, as decimal strings (null when a group has no member)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from miles.api.response_schemas import Shape

SHARE = r"^[01]\.[0-9]{4}$"
AVERAGE = r"^[0-9]+\.[0-9]{2}$"
SIGNED = r"^-?[0-9]+\.[0-9]{2,4}$"


class RecoveryGroup(Shape):
    members: int = Field(description="members of the group (each member in one group only)")
    complaints: int = Field(description="their complaints recorded in the range")
    complaints_full_year: int = Field(description="of those, recorded at least 12 months before `as_of`")
    members_full_year: int = Field(description="members whose 12 months after the complaint are over")
    members_active: int = Field(description="a flight or a posted partner activity in their 12 months")
    share_active: str | None = Field(pattern=SHARE, examples=["0.7500"])
    flights: int = Field(description="flight accruals (not reversed) departing in their 12 months")
    flights_per_member: str | None = Field(pattern=AVERAGE, examples=["2.50"])
    miles_earned: int = Field(description="flight and partner miles earned in their 12 months")
    miles_per_member: str | None = Field(pattern=AVERAGE, examples=["4200.00"])
    members_left: int = Field(description="lapsed or lost (their segment), else quiet over 12 months")
    share_left: str | None = Field(pattern=SHARE, examples=["0.2500"])


class RecoveryDifference(Shape):
    share_active: str | None = Field(pattern=SIGNED)
    flights_per_member: str | None = Field(pattern=SIGNED)
    miles_per_member: str | None = Field(pattern=SIGNED)
    share_left: str | None = Field(pattern=SIGNED)


class ServiceRecoveryReport(Shape):
    from_: dt.date = Field(alias="from", description="the first day of the complaints counted")
    to: dt.date = Field(description="the last day of the complaints counted, included")
    as_of: dt.date = Field(description="today in the programme's time zone: where the 12 months are cut")
    follow_months: int = Field(description="how long after a complaint each member is followed")
    compensated: RecoveryGroup = Field(description="a complaint with a linked goodwill that was applied")
    not_compensated: RecoveryGroup = Field(description="no goodwill, or one waiting or rejected")
    difference: RecoveryDifference = Field(description="compensated less not compensated")
