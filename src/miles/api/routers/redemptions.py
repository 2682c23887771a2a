"""Award redemptions: request (202, booked by the saga), read with its history, cancel; and the quote."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.api.deps import caller, container, key_owner, require
from miles.api.encoding import body_doc, json_response
from miles.api.fields import IdempotencyKey, RowId
from miles.api.redemption_schemas import RedemptionRequest, parse_redemption_request
from miles.bootstrap import Container
from miles.domain.agents import Actor
from miles.domain.errors import InvalidInput
from miles.services.idempotency import keyed_request
from miles.services.redemptions.cancellation import cancel_award
from miles.services.redemptions.redemption_views import AcceptedView, PricedItemView, RedemptionView
from miles.services.redemptions.submission import quote, read_redemption
from miles.services.redemptions.submission import request_award as request_redemption

router = APIRouter(prefix="/v1/redemptions", tags=["redemptions"])
awards = APIRouter(prefix="/v1/awards", tags=["redemptions"])


def _priced(items: list[PricedItemView]) -> list[dict[str, Any]]:
    return [{"kind": i.kind, "miles": i.miles, **({"fare": i.fare} if i.fare else {})} for i in items]


def accepted_body(view: AcceptedView) -> dict[str, Any]:
    return {
        "redemption_id": view.redemption_id,
        "status": view.status,
        "miles": view.miles,
        "items": _priced(view.items),
    }


def redemption_body(view: RedemptionView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "redemption_id": view.redemption_id,
        "member_number": view.member_number,
        "status": view.status,
        "miles": view.miles,
        "items": [
            {
                "kind": i.kind,
                "miles": i.miles,
                **({"fare": i.fare} if i.fare else {}),
                **i.detail,
                **({"booking_reference": i.booking_reference} if i.booking_reference else {}),
            }
            for i in view.items
        ],
        "history": [
            {"status": h.status, "at": h.at, **({"reason": h.reason} if h.reason else {})}
            for h in view.history
        ],
        "created_at": view.created_at,
    }
    if view.failure_reason is not None:
        body["failure_reason"] = view.failure_reason
    if view.refunded_miles is not None:
        body["refunded_miles"] = view.refunded_miles
        body["fee_miles"] = view.fee_miles
    return body


@router.post(
    "",
    status_code=202,
    dependencies=[Depends(require("redemption:write"))],
    openapi_extra=body_doc(RedemptionRequest),
    summary="Request an award: its miles are held and the booking goes on in the background",
)
async def request_award(request: Request, idempotency_key: IdempotencyKey = None) -> Response:
    if not idempotency_key:
        raise InvalidInput(
            "an Idempotency-Key header is required (any unique string, sent again with a retry)",
            field="Idempotency-Key",
            code="missing_idempotency_key",
        )
    body = await parse_redemption_request(request)
    c: Container = container(request)
    key = keyed_request(key_owner(caller(request)), "redemption.create", idempotency_key, body.canonical())
    assert key is not None
    outcome = await run_in_threadpool(request_redemption, c, body.award_request(), key)
    return json_response(accepted_body(outcome.value), 202)  # a replay answers as the first request did


@router.get(
    "/{redemption_id}",
    dependencies=[Depends(require("member:read"))],
    summary="A redemption: its state, items and history",
)
async def read(redemption_id: RowId, request: Request) -> Response:
    view = await run_in_threadpool(read_redemption, container(request), redemption_id)
    return json_response(redemption_body(view))


@router.post(
    "/{redemption_id}/cancel",
    dependencies=[Depends(require("redemption:write"))],
    summary="Cancel a confirmed award: the same miles back, less the cancellation fee",
)
async def cancel(redemption_id: RowId, request: Request, idempotency_key: IdempotencyKey = None) -> Response:
    c = container(request)
    principal = caller(request)
    key = keyed_request(key_owner(principal), "redemption.cancel", idempotency_key, {"cancel": redemption_id})
    actor = Actor(name=f"api:{principal.key_name}")
    outcome = await run_in_threadpool(cancel_award, c, redemption_id, actor, None, key)
    view = outcome.value
    return json_response(
        {"status": view.status, "refunded_miles": view.refunded_miles, "fee_miles": view.fee_miles}
    )


@awards.post(
    "/quote",
    dependencies=[Depends(require("member:read"))],
    openapi_extra=body_doc(RedemptionRequest),
    summary="Price an award with the suppliers' current fares; holds nothing",
)
async def quote_award(request: Request) -> Response:
    body = await parse_redemption_request(request)
    c = container(request)
    view = await run_in_threadpool(quote, c, body.award_request())
    return json_response(
        {
            "member_number": view.member_number,
            "miles": view.miles,
            "available_miles": view.available_miles,
            "items": _priced(view.items),
        }
    )
