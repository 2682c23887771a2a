"""Request shape of /v1/awards/quote and /v1/redemptions (pydantic, at the edge): a member and the items
of one award, each told apart by its `kind`. Types and formats are checked here, the programme's rules
(cabins, hotel categories, nights, bags, dates) in the domain."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Request
from pydantic import Field, Strict, ValidationError

from miles.api.encoding import invalid_body
from miles.api.fields import Line, text
from miles.api.schemas import Edge, IsoDate
from miles.domain.awards import AwardItem, BaggageAward, FlightAward, HotelAward
from miles.services.redemptions.submission import AwardRequest

KINDS = ("flight", "baggage", "hotel")
Airport = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["JFK"])]
Count = Annotated[int, Strict()]


class FlightItem(Edge):
    kind: Literal["flight"]
    origin: Airport
    destination: Airport
    departure_date: IsoDate
    cabin: Line = text(40, description="a cabin of the programme: economy, business, first")

    def award(self) -> AwardItem:
        return FlightAward(self.origin, self.destination, self.departure_date, self.cabin)


class BaggageItem(Edge):
    kind: Literal["baggage"]
    origin: Airport
    destination: Airport
    departure_date: IsoDate
    pieces: Count = Field(description="extra bags, 1 to 3")

    def award(self) -> AwardItem:
        return BaggageAward(self.origin, self.destination, self.departure_date, self.pieces)


class HotelItem(Edge):
    kind: Literal["hotel"]
    city: str = Field(pattern=r"^[A-Z]{3}$", description="IATA city code", examples=["LON"])
    hotel_category: Count = Field(description="1 to 5 in the reference programme")
    check_in_date: IsoDate
    nights: Count = Field(description="1 to 9")

    def award(self) -> AwardItem:
        return HotelAward(self.city, self.hotel_category, self.check_in_date, self.nights)


class RedemptionRequest(Edge):
    member_number: Line = text(32, examples=["1000000016"])
    items: list[Annotated[FlightItem | BaggageItem | HotelItem, Field(discriminator="kind")]] = Field(
        min_length=1, max_length=10
    )

    def award_request(self) -> AwardRequest:
        return AwardRequest(self.member_number, tuple(item.award() for item in self.items))

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _untagged(error: Any) -> Any:
    """Pydantic names a tagged item's field items.0.flight.cabin: drop the tag; a bad tag is `kind`'s."""
    loc = tuple(error.get("loc", ()))
    if len(loc) >= 3 and loc[0] == "items" and loc[2] in KINDS:
        loc = loc[:2] + loc[3:]
    if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "kind")
    return {**error, "loc": loc}


async def parse_redemption_request(request: Request) -> RedemptionRequest:
    raw = await request.body()
    try:
        return RedemptionRequest.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise invalid_body([_untagged(e) for e in exc.errors()]) from exc
