"""Finance: the closed months, and one month as closed (or measured as it stands)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.api.deps import container, only_query, require
from miles.api.encoding import json_response, plain
from miles.api.fields import QueryDay
from miles.domain.finance.months import month_label, parse_month
from miles.services.finance.close import closed_periods, period_for
from miles.services.finance.overview import liability_at, partner_billing, programme_today
from miles.services.finance.views import money, period_view

Month = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")]

router = APIRouter(prefix="/v1/finance", tags=["finance"], dependencies=[Depends(require("finance:read"))])


@router.get(
    "/periods", summary="Every closed month's figures, oldest first", dependencies=[Depends(only_query())]
)
async def periods(request: Request) -> Response:
    records = await run_in_threadpool(closed_periods, container(request))
    return json_response(
        {
            "currency": records[-1].currency if records else None,
            "periods": [
                {
                    "month": month_label(r.month),
                    "miles_issued": r.issued_total,
                    "miles_redeemed": r.miles_redeemed,
                    "miles_expired": r.miles_expired,
                    "miles_outstanding": r.miles_outstanding,
                    "revenue_recognised": money(r.revenue_recognised),
                    "deferred_revenue_closing": money(r.deferred_closing),
                    "closed_at": r.closed_at,
                }
                for r in records
            ],
        }
    )


@router.get(
    "/periods/{month}",
    summary="A month's liability, breakage and revenue: as closed, or as it stands",
    dependencies=[Depends(only_query())],
)
async def one_period(month: Month, request: Request) -> Response:
    day = parse_month(month)
    read = await run_in_threadpool(period_for, container(request), day)
    billing = await run_in_threadpool(partner_billing, container(request), day)
    return json_response(
        {**plain(period_view(read.measured, read.closed)), "partner_billing": [plain(b) for b in billing]}
    )


@router.get(
    "/liability",
    summary="Outstanding miles at the end of a date, by earn-month cohort and by source",
    dependencies=[Depends(only_query("date"))],
)
async def liability(
    request: Request,
    day: Annotated[QueryDay | None, Query(alias="date", description="YYYY-MM-DD (default: today)")] = None,
) -> Response:
    runtime = container(request)
    on = day if day is not None else await run_in_threadpool(programme_today, runtime)
    view = await run_in_threadpool(liability_at, runtime, on)
    return json_response(plain(view))
