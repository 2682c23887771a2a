"""Flight accruals: single, batch, reversal."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from miles.api.deps import container, require
from miles.api.encoding import body_doc, json_response, parse_body, plain
from miles.api.errors import invalid_from_pydantic
from miles.api.fields import RowId
from miles.api.metrics import ACCRUALS
from miles.api.schemas import BatchAccrualRequest, FlightAccrualRequest, ReversalRequest
from miles.services.accrual_requests import CouponRequest
from miles.services.accruals import accrue_coupons, quote_coupon
from miles.services.digest import request_digest
from miles.services.reversals import reverse_accrual

router = APIRouter(prefix="/v1/accruals", tags=["accruals"], dependencies=[Depends(require("accrual:write"))])


def _carrier(item: Any) -> str:
    value = item.get("marketing_carrier") if isinstance(item, dict) else None
    return value if isinstance(value, str) and len(value) == 2 else "other"


@router.post("/flights", openapi_extra=body_doc(FlightAccrualRequest), summary="Accrue one flown coupon")
async def accrue_one(request: Request) -> Response:
    body = await parse_body(request, FlightAccrualRequest)
    c = container(request)
    coupon = CouponRequest(0, body.coupon(), body.digest())
    [result] = await run_in_threadpool(accrue_coupons, c, [coupon], "api")
    ACCRUALS.labels(result.status, body.marketing_carrier).inc()
    if result.error is not None:
        raise result.error
    return json_response(plain(result.accrual), 201 if result.status == "created" else 200)


@router.post(
    "/flights/quote",
    openapi_extra=body_doc(FlightAccrualRequest),
    summary="What a coupon would earn now, writing nothing",
)
async def quote(request: Request) -> Response:
    body = await parse_body(request, FlightAccrualRequest)
    result = await run_in_threadpool(
        quote_coupon, container(request), CouponRequest(0, body.coupon(), body.digest())
    )
    if result.error is not None:
        raise result.error
    assert result.accrual is not None
    view = plain(result.accrual)
    for unknown in ("accrual_id", "balance_after"):
        view.pop(unknown)
    return json_response(view)


@router.post(
    "/flights/batch",
    openapi_extra=body_doc(BatchAccrualRequest),
    summary="Accrue up to 10,000 coupons; each item gets its own result",
)
async def accrue_batch(request: Request) -> Response:
    body = await parse_body(request, BatchAccrualRequest)
    c = container(request)
    requests: list[CouponRequest] = []
    for index, item in enumerate(body.items):
        try:
            parsed = FlightAccrualRequest.model_validate(item)
        except ValidationError as exc:
            error = invalid_from_pydantic(list(exc.errors()))
            requests.append(CouponRequest(index, None, error=error))
            continue
        requests.append(CouponRequest(index, parsed.coupon(), parsed.digest()))
    results = await run_in_threadpool(accrue_coupons, c, requests, "batch")
    out = []
    for result, item in zip(results, body.items, strict=True):
        ACCRUALS.labels(result.status, _carrier(item)).inc()
        entry: dict[str, Any] = {"index": result.index, "status": result.status}
        if result.accrual is not None:
            entry["accrual"] = plain(result.accrual)
        if result.error is not None:
            entry["error"] = result.error.as_dict()
        out.append(entry)
    return json_response({"results": out})


@router.post(
    "/{accrual_id}/reversal",
    openapi_extra=body_doc(ReversalRequest),
    summary="Reverse an accrual (refund, exchange): award and status miles go back",
)
async def reverse(accrual_id: RowId, request: Request) -> Response:
    body = await parse_body(request, ReversalRequest)
    c = container(request)
    view, created = await run_in_threadpool(
        reverse_accrual, c, accrual_id, body.reason, request_digest(body.reason)
    )
    return json_response(plain(view), 201 if created else 200)
