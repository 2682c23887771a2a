"""Request shapes of the HTTP API (pydantic, at the edge) and their mapping to domain values."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, field_validator

from miles.api.fields import Line, Lines, text
from miles.domain.accrual import FlightCoupon


def _iso_date_text(value: Any) -> Any:
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise ValueError("a date is written YYYY-MM-DD")
    if not isinstance(value, str | date):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]


class Edge(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TierGrantRequest(Edge):
    tier: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,23}$", description="a tier code of the programme")
    valid_until: IsoDate | None = Field(
        default=None, description="the last day the tier holds; default: as long as a tier earned today"
    )
    reason: Literal["status_match", "challenge", "service_recovery", "correction"]
    comment: Lines | None = text(500, multiline=True, default=None)


class Fare(Edge):
    amount: Decimal = Field(max_digits=14, allow_inf_nan=False, description="base fare + carrier surcharges")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")

    @field_validator("amount")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        if value.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValueError("at most 2 decimal places")
        return value.quantize(Decimal("0.01"))


class FlightAccrualRequest(Edge):
    member_number: Line = text(32, examples=["1000000016"])
    ticket_number: Line = text(32, examples=["0012280476034"])
    coupon_number: Annotated[int, Strict()] = Field(json_schema_extra={"minimum": 1, "maximum": 4})
    marketing_carrier: str = Field(pattern=r"^[A-Z0-9]{2}$")
    operating_carrier: str = Field(pattern=r"^[A-Z0-9]{2}$")
    flight_number: str = Field(pattern=r"^[0-9]{1,4}[A-Z]?$")
    origin: str = Field(pattern=r"^[A-Z]{3}$")
    destination: str = Field(pattern=r"^[A-Z]{3}$")
    departure_date: IsoDate
    booking_class: str = Field(pattern=r"^[A-Z]$")
    fare: Fare | None = None

    def coupon(self) -> FlightCoupon:
        return FlightCoupon(
            member_number=self.member_number,
            ticket_number=self.ticket_number,
            coupon_number=self.coupon_number,
            marketing_carrier=self.marketing_carrier,
            operating_carrier=self.operating_carrier,
            flight_number=self.flight_number,
            origin=self.origin,
            destination=self.destination,
            departure_date=self.departure_date,
            booking_class=self.booking_class,
            fare_amount=self.fare.amount if self.fare else None,
            fare_currency=self.fare.currency if self.fare else None,
        )

    def digest(self) -> str:
        """The request's fingerprint: the same coupon sent again with the same content matches."""
        return hashlib.sha256(self.model_dump_json(exclude_none=True).encode()).hexdigest()


class BatchAccrualRequest(Edge):
    # each item is validated on its own so that one bad item never blocks the others
    items: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


class NewMemberRequest(Edge):
    given_name: Line = text(100, min_length=1)
    family_name: Line = text(100, min_length=1)
    email: Line = text(254, min_length=3)
    birth_date: IsoDate | None = None


class ReversalRequest(Edge):
    reason: Lines = text(500, min_length=1, multiline=True)
