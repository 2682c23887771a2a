"""Shapes of /v1/partners (pydantic, at the edge): an activity as a partner posts it, mapped to the
domain's PartnerActivity, and the answers. Types and formats are checked here; the contract's rules
(kinds, categories, nights, days, amounts, currencies, dates) in the domain."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, Strict

from miles.api.fields import Line, Lines, text
from miles.api.response_schemas import Shape
from miles.api.schemas import Edge, IsoDate
from miles.domain.partners.earning import PartnerActivity

ActivityId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")]


class Spend(Edge):
    amount: Decimal = Field(max_digits=14, decimal_places=2, allow_inf_nan=False, examples=["123.45"])
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["USD"])


class PartnerActivityRequest(Edge):
    member_number: Line = text(32, examples=["1000000016"])
    activity_id: ActivityId = Field(description="the partner's own id of the activity: unique per partner")
    activity_date: IsoDate = Field(
        description="the day of the activity (a stay's check-out), partner's local"
    )
    kind: Code | None = Field(
        default=None, description="an activity kind of the contract; default: its first"
    )
    category: Code | None = Field(default=None, description="a spend category of the contract")
    nights: Annotated[int, Strict()] | None = Field(
        default=None, json_schema_extra={"minimum": 1, "maximum": 365}
    )
    days: Annotated[int, Strict()] | None = Field(
        default=None, json_schema_extra={"minimum": 1, "maximum": 365}
    )
    amount: Spend | None = None

    def activity(self) -> PartnerActivity:
        return PartnerActivity(
            member_number=self.member_number,
            activity_id=self.activity_id,
            activity_date=self.activity_date,
            kind=self.kind,
            category=self.category,
            nights=self.nights,
            days=self.days,
            amount=self.amount.amount if self.amount else None,
            currency=self.amount.currency if self.amount else None,
        )


class PartnerBatchRequest(Edge):
    # each item is validated on its own so that one bad item never blocks the others
    items: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


class PartnerReversalRequest(Edge):
    reason: Lines | None = text(500, min_length=1, multiline=True, default=None)


class PartnerActivityAnswer(Shape):
    partner: str = Field(examples=["HTL"])
    partner_name: str
    activity_id: str
    member_number: str
    activity_date: date
    kind: str
    miles: int
    status: Literal["pending", "posted", "cancelled", "reversed"]
    posts_on: date | None = Field(description="while pending: the day its miles post")
    reversed_on: date | None


class PartnerBatchItem(Shape):
    index: int
    status: Literal["created", "replayed", "error"]
    activity: PartnerActivityAnswer | None = None
    error: dict[str, str] | None = None


class PartnerBatchAnswer(Shape):
    results: list[PartnerBatchItem]


class SettlementAnswer(Shape):
    partner: str
    month: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-11"])
    closed: bool
    activities: int = Field(description="activities posted or reversed in the month")
    miles_issued: int
    miles_reversed: int
    net_miles: int
    price_per_mile: str = Field(examples=["0.008500"])
    amount_due: str = Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["1275.00"])
    currency: str
