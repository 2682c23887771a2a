"""Request shapes of /v1/adjustments (goodwill miles) and /v1/claims (missing miles), at the edge."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

from miles.api.fields import Line, Lines, text
from miles.api.schemas import Edge, FlightAccrualRequest


class AdjustmentRequest(Edge):
    member_number: Line = text(32, examples=["1000000016"])
    miles: Annotated[int, Strict()] = Field(
        description="goodwill miles; above the agent limit a supervisor approves"
    )
    reason_code: Line = text(40, description="one of the programme's goodwill reason codes")
    comment: Lines = text(500, min_length=1, multiline=True)


class ClaimRequest(FlightAccrualRequest):
    """A flown coupon the booking system never sent, 7 days to 6 months after departure."""

    comment: Lines | None = text(500, multiline=True, default=None)
