"""Answers of the retention reports under /v1/analytics (pydantic, at the edge)."""

from __future__ import annotations

from pydantic import Field

from miles.api.analytics_schemas import FlagCounts, SegmentSizes
from miles.api.response_schemas import Shape

MONTH = r"^[0-9]{4}-[0-9]{2}$"
SHARE = r"^[01]\.[0-9]{4}$"
MONEY = r"^-?[0-9]+\.[0-9]{2}$"


class SegmentPointAnswer(Shape):
    date: str = Field(description="the month's last night with segments", examples=["2026-11-30"])
    counts: SegmentSizes
    flags: FlagCounts


class SegmentHistory(Shape):
    points: list[SegmentPointAnswer] = Field(description="one per month that had a nightly run, oldest first")


class LossCauses(Shape):
    complaint: int
    downgrade: int
    expiry: int
    none: int


class LostMonthAnswer(Shape):
    month: str = Field(pattern=MONTH)
    lost: int = Field(description="members whose segment became `lost` on a night of the month")
    causes: LossCauses = Field(description="the latest of these in the 12 months before (none: nothing)")


class LostMembers(Shape):
    months: list[LostMonthAnswer]


class WonBackMonthAnswer(Shape):
    month: str = Field(pattern=MONTH)
    won_back: int = Field(
        description="members back to new or active from lapsed or lost on a night of the month"
    )
    promotions: dict[str, int] = Field(
        description="promotion code -> members whose return flight earned it (`none`: no promotion)"
    )


class WonBack(Shape):
    months: list[WonBackMonthAnswer]


class CohortAnswer(Shape):
    enrolment_month: str = Field(pattern=MONTH)
    members: int
    retained: list[str | None] = Field(
        description="share retained (new, active or at risk) at the end of each month since enrolment, from 0; "
        "null where no night has segmented the cohort yet"
    )


class CohortRetentionAnswer(Shape):
    cohorts: list[CohortAnswer]


class PromotionReturnAnswer(Shape):
    code: str
    name: str
    miles_awarded: int = Field(description="in the range, net of reversals")
    members_awarded: int
    members_reactivated: int = Field(
        description="members won back whose return flight earned it, in the range"
    )
    cost: str = Field(pattern=MONEY, description="the miles awarded at the value per mile")
    cost_per_reactivated: str | None = Field(pattern=MONEY)


class PromotionReturns(Shape):
    currency: str
    promotions: list[PromotionReturnAnswer]
