"""Request shapes of /v1/adjustments (goodwill miles) and /v1/claims (missing miles), at the edge."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

from miles.api.schemas import Edge, FlightAccrualRequest


class AdjustmentRequest(Edge):
    member_number: str = Field(max_length=32, examples=["1000000016"])
    miles: Annotated[int, Strict()] = Field(
        description="goodwill miles; above the agent limit a supervisor approves"
    )
    reason_code: str = Field(
        max_length=40, description="service_recovery | delay | baggage | complaint | birthday | other"
    )
    comment: str = Field(min_length=1, max_length=500)


class ClaimRequest(FlightAccrualRequest):
    """A flown coupon the booking system never sent, 7 days to 6 months after departure."""

    comment: str | None = Field(default=None, max_length=500)
