"""Partners: activities (one, a batch, a reversal, a read) with partner-bound keys, and settlements."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from miles.api.deps import container, require
from miles.api.encoding import body_doc, invalid_body, json_response, parse_body, plain
from miles.api.partner_schemas import (
    ActivityId,
    PartnerActivityRequest,
    PartnerBatchRequest,
    PartnerReversalRequest,
)
from miles.domain.finance.months import parse_month
from miles.services.apikeys import Principal
from miles.services.partners import activities, reversal, settlement
from miles.services.partners.queries import read_activity

PartnerCode = Annotated[str, Path(pattern=r"^[A-Z][A-Z0-9_]{0,11}$", description="the partner's code")]
Month = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")]


async def partner_key(
    partner: PartnerCode, principal: Annotated[Principal, Depends(require("partner:write"))]
) -> None:
    """Every route's key: the scope partner:write, and bound to no partner or to this one."""
    principal.require_partner(partner)


router = APIRouter(prefix="/v1/partners", tags=["partners"], dependencies=[Depends(partner_key)])


@router.post(
    "/{partner}/activities",
    openapi_extra=body_doc(PartnerActivityRequest),
    summary="Record one activity of a partner's member",
)
async def record_one(partner: PartnerCode, request: Request) -> Response:
    body = await parse_body(request, PartnerActivityRequest)
    item = activities.ActivityRequest(0, body.activity())
    [result] = await run_in_threadpool(
        activities.record_activities, container(request), partner, [item], "api"
    )
    if result.error is not None:
        raise result.error
    return json_response(plain(result.activity), 201 if result.status == activities.CREATED else 200)


@router.post(
    "/{partner}/activities/batch",
    openapi_extra=body_doc(PartnerBatchRequest),
    summary="Record up to 10,000 activities; each item gets its own result",
)
async def record_batch(partner: PartnerCode, request: Request) -> Response:
    body = await parse_body(request, PartnerBatchRequest)
    items: list[activities.ActivityRequest] = []
    for index, raw in enumerate(body.items):
        try:
            parsed = PartnerActivityRequest.model_validate(raw)
        except ValidationError as exc:
            items.append(activities.ActivityRequest(index, None, invalid_body(list(exc.errors()), "an item")))
            continue
        items.append(activities.ActivityRequest(index, parsed.activity()))
    results = await run_in_threadpool(
        activities.record_activities, container(request), partner, items, "batch"
    )
    out: list[dict[str, Any]] = []
    for result in results:
        entry: dict[str, Any] = {"index": result.index, "status": result.status}
        if result.activity is not None:
            entry["activity"] = plain(result.activity)
        if result.error is not None:
            entry["error"] = result.error.as_dict()
        out.append(entry)
    return json_response({"results": out})


@router.get("/{partner}/activities/{activity_id}", summary="An activity as it stands")
async def read(
    partner: PartnerCode,
    activity_id: Annotated[ActivityId, Path()],
    request: Request,
) -> Response:
    view = await run_in_threadpool(read_activity, container(request), partner, activity_id)
    return json_response(plain(view))


@router.post(
    "/{partner}/activities/{activity_id}/reversal",
    openapi_extra=body_doc(PartnerReversalRequest),
    summary="Reverse an activity: cancelled while pending, taken back once posted",
)
async def reverse(
    partner: PartnerCode,
    activity_id: Annotated[ActivityId, Path()],
    request: Request,
) -> Response:
    body = await parse_body(request, PartnerReversalRequest)
    view, created = await run_in_threadpool(
        reversal.reverse_activity, container(request), partner, activity_id, body.reason
    )
    return json_response(plain(view), 201 if created else 200)


@router.get("/{partner}/settlements/{month}", summary="A partner's month: miles issued, reversed, amount due")
async def month_settlement(
    partner: PartnerCode,
    month: Month,
    request: Request,
) -> Response:
    day = parse_month(month)
    view = await run_in_threadpool(settlement.settlement, container(request), partner, day)
    body = plain(view)
    body.pop("partner_name")
    body.pop("closed_at")
    body["price_per_mile"] = str(view.price_per_mile)
    body["amount_due"] = str(view.amount_due)
    return json_response(body)
