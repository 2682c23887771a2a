"""Goodwill adjustments and missing-miles claims over HTTP (scope adjustment:write), over the same use
cases as the agents' console. An API key is not a supervisor: an adjustment above the agent limit waits
in the console's approval queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.api.adjustment_schemas import AdjustmentRequest, ClaimRequest
from miles.api.deps import container, key_owner, require
from miles.api.encoding import body_doc, json_response, parse_body
from miles.api.fields import IdempotencyKey, RowId
from miles.domain.agents import Actor
from miles.services.adjustment_requests import file_missing_miles, grant_goodwill
from miles.services.adjustment_requests import read_adjustment as read_adjustment_view
from miles.services.apikeys import Principal
from miles.services.claims import ClaimView
from miles.services.goodwill.adjustments import AdjustmentView

router = APIRouter(prefix="/v1", tags=["adjustments"])


def _actor(principal: Principal) -> Actor:
    return Actor(name=f"api:{principal.key_name}")


def adjustment_body(view: AdjustmentView) -> dict[str, Any]:
    return {
        "adjustment_id": view.adjustment_id,
        "member_number": view.member_number,
        "miles": view.miles,
        "reason_code": view.reason_code,
        "comment": view.comment,
        "status": view.status,
        "requested_by": view.requested_by,
        "requested_at": view.requested_at,
        "decided_by": view.decided_by,
        "decided_at": view.decided_at,
        "decision_note": view.decision_note,
    }


def claim_body(view: ClaimView) -> dict[str, Any]:
    return {
        "claim_id": view.claim_id,
        "member_number": view.member_number,
        "status": view.status,  # PENDING: above the agent limit, waits for a supervisor (accrual_id null)
        "accrual_id": view.accrual_id,
        "ticket_number": view.ticket_number,
        "coupon_number": view.coupon_number,
        "departure_date": view.departure_date,
        "award_miles": view.award_miles,
        "filed_by": view.filed_by,
        "created_at": view.created_at,
    }


@router.post(
    "/adjustments",
    openapi_extra=body_doc(AdjustmentRequest),
    summary="Grant goodwill miles: applied at once up to the agent limit, else queued for a supervisor",
)
async def adjust(
    request: Request,
    principal: Annotated[Principal, Depends(require("adjustment:write"))],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    body = await parse_body(request, AdjustmentRequest)
    outcome = await run_in_threadpool(
        grant_goodwill,
        container(request),
        _actor(principal),
        key_owner(principal),
        idempotency_key,
        body.member_number,
        body.miles,
        body.reason_code,
        body.comment,
    )
    return json_response(adjustment_body(outcome.value), 200 if outcome.replayed else 201)


@router.get(
    "/adjustments/{adjustment_id}",
    dependencies=[Depends(require("member:read"))],
    summary="A goodwill adjustment and its decision",
)
async def read_adjustment(adjustment_id: RowId, request: Request) -> Response:
    view = await run_in_threadpool(read_adjustment_view, container(request), adjustment_id)
    return json_response(adjustment_body(view))


@router.post(
    "/claims",
    openapi_extra=body_doc(ClaimRequest),
    summary="File a missing-miles claim: earned by the accrual rules under the coupon's own key",
)
async def claim(
    request: Request,
    principal: Annotated[Principal, Depends(require("adjustment:write"))],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    body = await parse_body(request, ClaimRequest)
    outcome = await run_in_threadpool(
        file_missing_miles,
        container(request),
        _actor(principal),
        key_owner(principal),
        idempotency_key,
        body.coupon(),
        body.comment,
    )
    return json_response(claim_body(outcome.value), 200 if outcome.replayed else 201)
