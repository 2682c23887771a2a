"""Answers of /v1/analytics and the retention part of the member read (pydantic, at the edge)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from miles.api.response_schemas import Member, Shape

SegmentName = Literal["new", "active", "at_risk", "lapsed", "lost"]
FlagName = Literal["repeat", "vip"]


class MemberRead(Member):
    """The member's summary, with the retention segment and flags the last nightly run gave them."""

    segment: SegmentName | None = Field(
        description="new (enrolled < 90 days), active, at_risk (quiet over 6 months or 1.5 x their usual "
        "interval), lapsed (over 12 months), lost (over 24 months, or all miles expired); null before "
        "the member's first night"
    )
    flags: list[FlagName] = Field(
        description="sorted: repeat (2+ flights in 12 months), vip (top tier, or top 1 % by 12-month value)"
    )


class SegmentSizes(Shape):
    new: int
    active: int
    at_risk: int
    lapsed: int
    lost: int


class FlagCounts(Shape):
    repeat: int
    vip: int


class SegmentCounts(Shape):
    date: dt.date = Field(description="the run date counted: the latest night on or before the date asked")
    counts: SegmentSizes
    flags: FlagCounts
