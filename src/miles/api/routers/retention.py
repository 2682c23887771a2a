"""Retention reports: segment sizes over time, members lost and won back per month, cohort retention, and
each promotion's cost against the members it reactivated. `from` and `to` are months (YYYY-MM; by default
the last twelve, this one included)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.api.deps import container, only_query, require
from miles.api.encoding import json_response, plain
from miles.services import retention

router = APIRouter(
    prefix="/v1/analytics", tags=["analytics"], dependencies=[Depends(require("analytics:read"))]
)
From = Annotated[str | None, Query(alias="from", max_length=7, description="YYYY-MM, the first month")]
To = Annotated[str | None, Query(alias="to", max_length=7, description="YYYY-MM, the last month")]


def _months(request: Request, first: str | None, last: str | None) -> retention.Months:
    return retention.months_of(container(request), first, last)


@router.get(
    "/segments/history",
    summary="Segment sizes at each month's last night",
    dependencies=[Depends(only_query("from", "to"))],
)
async def segment_history(request: Request, first: From = None, last: To = None) -> Response:
    months = await run_in_threadpool(_months, request, first, last)
    points = await run_in_threadpool(retention.segment_history, container(request), months)
    return json_response({"points": [plain(p) for p in points]})


@router.get(
    "/lost",
    summary="Members lost per month, with what preceded it",
    dependencies=[Depends(only_query("from", "to"))],
)
async def lost(request: Request, first: From = None, last: To = None) -> Response:
    months = await run_in_threadpool(_months, request, first, last)
    rows = await run_in_threadpool(retention.lost_members, container(request), months)
    return json_response({"months": [plain(r) for r in rows]})


@router.get(
    "/won-back",
    summary="Members won back per month, with the promotion their return flight earned",
    dependencies=[Depends(only_query("from", "to"))],
)
async def won_back(request: Request, first: From = None, last: To = None) -> Response:
    months = await run_in_threadpool(_months, request, first, last)
    rows = await run_in_threadpool(retention.won_back, container(request), months)
    return json_response({"months": [plain(r) for r in rows]})


@router.get(
    "/cohorts",
    summary="Cohort retention: each enrolment month's share retained month by month",
    dependencies=[Depends(only_query("from", "to", "months"))],
)
async def cohorts(
    request: Request,
    first: From = None,
    last: To = None,
    since: Annotated[int, Query(alias="months", ge=1, le=36, description="months since enrolment")] = 12,
) -> Response:
    months = await run_in_threadpool(_months, request, first, last)
    rows = await run_in_threadpool(retention.cohort_retention, container(request), months, since)
    return json_response({"cohorts": [plain(r) for r in rows]})


@router.get(
    "/promotions",
    summary="Each promotion's cost against the members it reactivated",
    dependencies=[Depends(only_query("from", "to"))],
)
async def promotions(request: Request, first: From = None, last: To = None) -> Response:
    months = await run_in_threadpool(_months, request, first, last)
    currency, rows = await run_in_threadpool(retention.promotion_returns, container(request), months)
    return json_response({"currency": currency, "promotions": [plain(r) for r in rows]})
