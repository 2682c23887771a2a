"""Goodwill adjustments and missing-miles claims as the entry points ask for them (the API with an
Idempotency-Key, the console with its form's request key): once per key of the caller, through the one
idempotency mechanism; an adjustment or a claim read back."""

from __future__ import annotations

import dataclasses

from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.accrual import FlightCoupon
from miles.domain.agents import Actor
from miles.domain.errors import NotFound
from miles.services.claims import ClaimView, claim_view, file_claim
from miles.services.clock import Clock
from miles.services.goodwill.adjustments import AdjustmentView, adjustment_view, request_goodwill
from miles.services.idempotency import Outcome, keyed_request, once
from miles.services.programmes import ProgrammeCatalog

GOODWILL, CLAIM = "adjustment.create", "claim.create"


def grant_goodwill(
    uow: UnitOfWork,
    catalog: ProgrammeCatalog,
    clock: Clock,
    actor: Actor,
    owner: str,
    key: str | None,
    member_number: str,
    miles: int,
    reason_code: str,
    comment: str,
) -> Outcome[AdjustmentView]:
    """Goodwill miles (applied, or queued for a supervisor): once per `owner`'s `key`."""
    keyed = keyed_request(owner, GOODWILL, key, [member_number, miles, reason_code, comment.strip()])
    return once(
        uow,
        keyed,
        AdjustmentView,
        lambda: request_goodwill(uow, catalog, clock, actor, member_number, miles, reason_code, comment),
    )


def file_missing_miles(
    uow: UnitOfWork,
    catalog: ProgrammeCatalog,
    clock: Clock,
    actor: Actor,
    owner: str,
    key: str | None,
    coupon: FlightCoupon,
    comment: str | None,
) -> Outcome[ClaimView]:
    """A missing-miles claim: once per `owner`'s `key`. May raise CouponRaced (run it again)."""
    keyed = keyed_request(owner, CLAIM, key, dataclasses.asdict(coupon))  # the coupon, as the accrual API
    return once(uow, keyed, ClaimView, lambda: file_claim(uow, catalog, clock, actor, coupon, comment))


def read_adjustment(uow: UnitOfWork, adjustment_id: int) -> AdjustmentView:
    record = uow.goodwill.get(adjustment_id)
    if record is None:
        raise NotFound(f"no adjustment {adjustment_id}", code="adjustment_not_found")
    return adjustment_view(record)


def read_claim(uow: UnitOfWork, claim_id: int) -> ClaimView:
    record = uow.claims.get(claim_id)
    if record is None:
        raise NotFound(f"no claim {claim_id}", code="claim_not_found")
    return claim_view(record)
