"""The shapes of the API's success answers and its one error body, for the OpenAPI document (the routers
map use-case views to these shapes explicitly; these models describe them, field by field)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Money = Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["512.40"])


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable: see the codes listed with each status")
    message: str = Field(description="for people; may change")
    field: str | None = Field(
        default=None, description="the field at fault (`fare.amount`, `items[3]`, `Idempotency-Key`...)"
    )


class Error(BaseModel):
    """Every error the API answers, whatever its status."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"error": {"code": "missing_field", "message": "origin is required", "field": "origin"}},
                {
                    "error": {
                        "code": "coupon_already_accrued",
                        "message": "this coupon was accrued with another body",
                    }
                },
            ]
        }
    )

    error: ErrorDetail


MetricValues = dict[str, int | str]
METRICS_DOC = (
    "one value per qualifying metric of the programme, by its code: a whole number, or an amount in the "
    "accounting currency as a string with two decimals (a `money` metric)"
)


class Qualifying(Shape):
    """The member's current qualification period and what it holds so far."""

    period_start: date
    period_end: date = Field(description="the period's last day")
    metrics: MetricValues = Field(description=METRICS_DOC, examples=[{"status_miles": 3451, "segments": 1}])
    status_miles: int = Field(description="`metrics.status_miles`, 0 where the programme has no such metric")
    segments: int = Field(description="`metrics.segments`, 0 where the programme has no such metric")


class Member(Shape):
    member_number: str = Field(examples=["1000000016"])
    given_name: str
    family_name: str
    email: str
    birth_date: date | None
    tier: str
    tier_valid_until: date | None
    lifetime_tier: str
    award_miles: int
    pending_miles: int = Field(description="held by redemptions being booked")
    available_miles: int = Field(description="award miles less pending: what can be redeemed")
    lifetime_status_miles: int = Field(
        description="0 unless the programme's lifetime tiers count status miles"
    )
    qualifying: Qualifying
    created_at: datetime
    partner_pending_miles: int = Field(
        description="partner miles recorded but still pending (a stay that can be cancelled): not in "
        "award_miles, not spendable; they post by themselves when their pending period ends"
    )


class AccrualPromotion(Shape):
    code: str
    miles: int = Field(description="0 for a qualifying-metric bonus (it is in `qualifying`)")


class AccrualQuote(Shape):
    """What a coupon earns (or, quoted, would earn now)."""

    member_number: str
    distance_miles: int
    base_miles: int
    tier_bonus_miles: int
    promotion_miles: int
    award_miles: int
    status_miles: int = Field(
        description="`qualifying.status_miles`, 0 where the programme has no such metric"
    )
    segments: int = Field(description="`qualifying.segments`, 0 where the programme has no such metric")
    qualifying: MetricValues = Field(description="what the coupon credits: " + METRICS_DOC)
    tier_after: str
    promotions: list[AccrualPromotion] = Field(
        default_factory=list, description="the promotions the coupon earned; `promotion_miles` is their sum"
    )


class Accrual(AccrualQuote):
    accrual_id: int
    balance_after: int


class BatchItemError(ErrorDetail):
    pass


class BatchResult(BaseModel):
    index: int = Field(description="the item's position in `items`")
    status: Literal["created", "replayed", "conflict", "rejected"]
    accrual: Accrual | None = Field(default=None, description="with `created` and `replayed`")
    error: BatchItemError | None = Field(default=None, description="with `conflict` and `rejected`")


class BatchResults(BaseModel):
    results: list[BatchResult]


class Reversal(Shape):
    reversal_id: int
    accrual_id: int
    member_number: str
    reason: str
    reversed_award_miles: int
    reversed_status_miles: int
    balance_after: int
    reversed_at: datetime


class StatementLine(Shape):
    transfer_id: int
    code: str
    description: str
    miles: int = Field(description="signed, from the member's side")
    counterparty: str
    event_at: datetime
    created_at: datetime
    accrual_id: int | None
    promotion: str | None = Field(default=None, description="the promotion's code, on a bonus line")
    partner: str | None = Field(default=None, description="the partner's code, on a partner line")


class Statement(BaseModel):
    member_number: str
    transfers: list[StatementLine]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class PricedItem(Shape):
    kind: Literal["flight", "baggage", "hotel"]
    miles: int
    fare: str | None = Field(default=None, description="flights: saver | standard")


class Quote(Shape):
    member_number: str
    miles: int
    available_miles: int
    items: list[PricedItem]


class RedemptionAccepted(Shape):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "redemption_id": 42,
                    "status": "PENDING",
                    "miles": 25000,
                    "items": [{"kind": "flight", "miles": 25000, "fare": "saver"}],
                }
            ]
        },
    )

    redemption_id: int
    status: str = Field(description="PENDING: held; poll GET /v1/redemptions/{redemption_id}")
    miles: int
    items: list[PricedItem]


class RedemptionItem(Shape):
    kind: Literal["flight", "baggage", "hotel"]
    miles: int
    fare: str | None = None
    booking_reference: str | None = None


class RedemptionEvent(Shape):
    status: str
    at: datetime
    reason: str | None = None


class Redemption(Shape):
    redemption_id: int
    member_number: str
    status: str = Field(description="PENDING, then CONFIRMED or FAILED; CANCELLED after a cancellation")
    miles: int
    items: list[RedemptionItem]
    history: list[RedemptionEvent]
    created_at: datetime
    failure_reason: str | None = None
    refunded_miles: int | None = None
    fee_miles: int | None = None


class Cancellation(Shape):
    status: str
    refunded_miles: int
    fee_miles: int


class Adjustment(Shape):
    adjustment_id: int
    member_number: str
    miles: int
    reason_code: str
    comment: str
    status: str = Field(description="APPLIED at once, or PENDING a supervisor's APPROVED / REJECTED")
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class Claim(Shape):
    claim_id: int
    member_number: str
    status: str = Field(
        description="APPLIED: earned at once; PENDING: above the agent limit, waits for a supervisor (no "
        "accrual yet); then APPROVED (earned) or REJECTED"
    )
    accrual_id: int | None
    ticket_number: str
    coupon_number: int
    departure_date: date
    award_miles: int
    filed_by: str
    created_at: datetime


class NightlyMembers(Shape):
    processed: int
    requalified: int
    kept: int
    up: int
    down: int
    lifetime_grants: int


class NightlyExpiry(Shape):
    policy: str
    members: int
    lots: int
    miles: int


class NightlyPhases(Shape):
    plan_ms: int
    requalification_ms: int
    expiry_ms: int
    warnings_ms: int
    segments_ms: int


class NightlyRun(Shape):
    programme: str
    run_date: date
    status: Literal["running", "done"]
    chunks: int
    chunks_done: int
    started_at: datetime
    finished_at: datetime | None
    elapsed_ms: int | None
    members: NightlyMembers
    expiry: NightlyExpiry
    warnings_queued: int
    segment_transitions: int = Field(description="members whose retention segment changed that night")
    phases: NightlyPhases


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str]
