"""Shapes of /v1/promotions (pydantic, at the edge): the campaign a manager posts, mapped to the domain's
Promotion; its answers. Types and formats are checked here, the programme's rules (tiers, metrics,
carriers, airports, cabins, ceilings) in the domain."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, model_validator

from miles.api.fields import Line, text
from miles.api.response_schemas import Shape
from miles.api.schemas import Edge, IsoDate
from miles.domain.promotions.model import (
    Audience,
    Challenge,
    Conditions,
    Effect,
    EffectKind,
    Limits,
    Promotion,
    Trigger,
)

Code = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,39}$", examples=["DBL-LHR"])]
Airport = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["JFK"])]
Route = Annotated[str, Field(pattern=r"^[A-Z]{3}-[A-Z]{3}$", examples=["JFK-LHR"])]
Carrier = Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]
PartnerCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,11}$", examples=["HTL"])]
ActivityKind = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,23}$", examples=["stay"])]
TRIGGER = Literal["flight", "challenge", "birthday", "enrolment", "partner"]
TierCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,23}$")]
Count = Annotated[int, Strict()]
Miles = Annotated[int, Strict(), Field(json_schema_extra={"minimum": 1})]
Amount = Annotated[Decimal, Field(max_digits=14, decimal_places=2, allow_inf_nan=False)]


def _short() -> Any:
    return Field(default_factory=list, max_length=200, json_schema_extra={"uniqueItems": True})


class AudienceRequest(Edge):
    tiers: list[TierCode] = _short()
    inactive_for_months: Count | None = Field(
        default=None, description="no activity for that long before the coupon"
    )
    enrolled_within_days: Count | None = Field(
        default=None, description="enrolled at most that many days before"
    )


class ConditionsRequest(Edge):
    carriers: list[Carrier] = _short()
    routes: list[Route] = Field(
        default_factory=list, max_length=500, description="ORIGIN-DESTINATION, one way"
    )
    origins: list[Airport] = _short()
    destinations: list[Airport] = _short()
    cabins: list[Line] = Field(default_factory=list, max_length=10)
    booking_classes: list[Annotated[str, Field(pattern=r"^[A-Z]$")]] = Field(
        default_factory=list, max_length=26
    )
    min_distance: Count | None = None
    partners: list[PartnerCode] = Field(
        default_factory=list,
        max_length=200,
        description="partner trigger: the partners whose activities earn it",
    )
    activity_kinds: list[ActivityKind] = Field(
        default_factory=list, max_length=200, description="partner trigger: the activity kinds that earn it"
    )


class EffectRequest(Edge):
    kind: Literal["multiplier", "percent", "fixed", "metric"]
    value: Amount | None = Field(default=None, description="multiplier (> 1) or percent (> 0)")
    miles: Count | None = Field(default=None, description="fixed: miles per qualifying coupon or grant")
    metric: Line | None = text(40, default=None, description="metric: the qualifying metric's code")
    amount: Amount | None = Field(default=None, description="metric: how much of it")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> EffectRequest:
        needs = {
            "multiplier": ("value",),
            "percent": ("value",),
            "fixed": ("miles",),
            "metric": ("metric", "amount"),
        }
        for name in needs[self.kind]:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.kind} effect needs `{name}`")
        for name in ("value", "miles", "metric", "amount"):
            if name not in needs[self.kind] and getattr(self, name) is not None:
                raise ValueError(f"a {self.kind} effect takes no `{name}`")
        return self


class LimitsRequest(Edge):
    per_member_miles: Count | None = None
    per_member_times: Count | None = None
    budget_miles: Count | None = None


class ChallengeRequest(Edge):
    segments: Count
    repeat: bool = False


class PromotionRequest(Edge):
    code: Code
    name: Line = text(200, min_length=1)
    trigger: TRIGGER
    starts_on: IsoDate
    ends_on: IsoDate
    registration_required: bool = False
    audience: AudienceRequest = Field(default_factory=AudienceRequest)
    conditions: ConditionsRequest = Field(default_factory=ConditionsRequest)
    effect: EffectRequest
    limits: LimitsRequest = Field(default_factory=LimitsRequest)
    challenge: ChallengeRequest | None = None
    stacking_group: Line | None = text(40, default=None, min_length=1)

    def document(self) -> dict[str, Any]:
        """The body as JSON, for its digest: the partner conditions only when given (a body without them
        keeps the digest it had before they existed)."""
        body = self.model_dump(mode="json")
        for name in ("partners", "activity_kinds"):
            if not body["conditions"][name]:
                del body["conditions"][name]
        return body

    def promotion(self) -> Promotion:
        a, c, e, lim = self.audience, self.conditions, self.effect, self.limits
        return Promotion(
            id=0,
            code=self.code,
            name=self.name,
            trigger=Trigger(self.trigger),
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            registration_required=self.registration_required,
            audience=Audience(frozenset(a.tiers), a.inactive_for_months, a.enrolled_within_days),
            conditions=Conditions(
                carriers=frozenset(c.carriers),
                routes=frozenset((r[:3], r[4:]) for r in c.routes),
                origins=frozenset(c.origins),
                destinations=frozenset(c.destinations),
                cabins=frozenset(c.cabins),
                booking_classes=frozenset(c.booking_classes),
                min_distance=c.min_distance,
                partners=frozenset(c.partners),
                activity_kinds=frozenset(c.activity_kinds),
            ),
            effect=Effect(EffectKind(e.kind), e.value, e.miles, e.metric, e.amount),
            limits=Limits(lim.per_member_miles, lim.per_member_times, lim.budget_miles),
            challenge=None
            if self.challenge is None
            else Challenge(self.challenge.segments, self.challenge.repeat),
            stacking_group=self.stacking_group,
        )


class RegistrationRequest(Edge):
    member_number: Line = text(32, examples=["1000000016"])


# answers


class PromotionAnswer(Shape):
    code: str
    name: str
    trigger: TRIGGER
    starts_on: date
    ends_on: date
    registration_required: bool
    audience: dict[str, Any]
    conditions: dict[str, Any]
    effect: dict[str, Any]
    limits: dict[str, Any]
    challenge: dict[str, Any] | None
    stacking_group: str | None
    status: Literal["scheduled", "running", "finished", "ended"]
    ended_at: datetime | None
    awarded_miles: int = Field(description="promotion miles awarded, net of reversals")
    members_rewarded: int
    bonuses: int
    budget_left: int | None = Field(description="null: no budget")
    created_by: str
    created_at: datetime


class PromotionList(Shape):
    promotions: list[PromotionAnswer]


class MemberPromotion(Shape):
    code: str
    name: str
    trigger: str
    starts_on: date
    ends_on: date
    status: str
    registered_on: date | None
    miles: int
    times: int
    segments: int | None = Field(description="challenges: qualifying segments counted")
    segments_per_run: int | None
    segments_to_next: int | None = Field(description="challenges: segments to fly for the next bonus")


class MemberPromotions(Shape):
    member_number: str
    promotions: list[MemberPromotion]


class Registration(Shape):
    code: str
    member_number: str
    registered_on: date
