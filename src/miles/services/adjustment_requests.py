"""Goodwill adjustments and missing-miles claims as the entry points ask for them (the API with an
Idempotency-Key, the console with its form's request key): once per key of the caller, through the one
idempotency mechanism; an adjustment or a claim read back."""

from __future__ import annotations

import dataclasses

from miles.domain.accrual import FlightCoupon
from miles.domain.agents import Actor
from miles.domain.errors import NotFound
from miles.services.accruals import retry_raced
from miles.services.claims import ClaimView, claim_view, file_claim
from miles.services.goodwill.adjustments import AdjustmentView, adjustment_view, request_goodwill
from miles.services.idempotency import Outcome, keyed_request, once
from miles.services.runtime import Runtime

GOODWILL, CLAIM = "adjustment.create", "claim.create"


def grant_goodwill(
    runtime: Runtime,
    actor: Actor,
    owner: str,
    key: str | None,
    member_number: str,
    miles: int,
    reason_code: str,
    comment: str,
) -> Outcome[AdjustmentView]:
    """Grant goodwill miles (applied, or queued for a supervisor): once per `owner`'s `key`."""
    keyed = keyed_request(owner, GOODWILL, key, [member_number, miles, reason_code, comment.strip()])
    with runtime.uow() as uow:
        return once(
            uow,
            keyed,
            AdjustmentView,
            lambda: request_goodwill(
                uow, runtime.catalog, runtime.clock, actor, member_number, miles, reason_code, comment
            ),
        )


def file_missing_miles(
    runtime: Runtime,
    actor: Actor,
    owner: str,
    key: str | None,
    coupon: FlightCoupon,
    comment: str | None,
) -> Outcome[ClaimView]:
    """File a missing-miles claim: once per `owner`'s `key`, in one transaction; run again from the
    start when a concurrent request recorded the coupon meanwhile (see `retry_raced`)."""
    keyed = keyed_request(owner, CLAIM, key, dataclasses.asdict(coupon))  # the coupon, as the accrual API
    return retry_raced(
        runtime.uow,
        lambda uow: once(
            uow,
            keyed,
            ClaimView,
            lambda: file_claim(uow, runtime.catalog, runtime.clock, actor, coupon, comment),
        ),
    )


def read_adjustment(runtime: Runtime, adjustment_id: int) -> AdjustmentView:
    """A goodwill adjustment and its decision (NotFound when there is none)."""
    with runtime.uow() as uow:
        record = uow.goodwill.get(adjustment_id)
    if record is None:
        raise NotFound(f"no adjustment {adjustment_id}", code="adjustment_not_found")
    return adjustment_view(record)


def read_claim(runtime: Runtime, claim_id: int) -> ClaimView:
    """A missing-miles claim and its decision (NotFound when there is none)."""
    with runtime.uow() as uow:
        record = uow.claims.get(claim_id)
    if record is None:
        raise NotFound(f"no claim {claim_id}", code="claim_not_found")
    return claim_view(record)
