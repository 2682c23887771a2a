"""Analytics: the service-recovery report (complaints, compensated or not, and the 12 months after)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.api.deps import container, only_query, require
from miles.api.encoding import json_response, plain
from miles.domain.complaints import parse_report_day
from miles.services.complaints import RecoveryReport, service_recovery_report

DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

router = APIRouter(
    prefix="/v1/analytics", tags=["analytics"], dependencies=[Depends(require("analytics:read"))]
)


def report_body(report: RecoveryReport) -> dict[str, Any]:
    return {
        "from": report.from_date,
        "to": report.to_date,
        "as_of": report.as_of,
        "follow_months": report.follow_months,
        "compensated": _group(plain(report.compensated)),
        "not_compensated": _group(plain(report.not_compensated)),
        "difference": plain(report.difference),  # Decimals are written as strings
    }


def _group(figures: dict[str, Any]) -> dict[str, Any]:
    figures.pop("compensated")  # the group's name says it
    return figures


@router.get(
    "/service-recovery",
    summary="The 12 months after a complaint: compensated against not",
    dependencies=[Depends(only_query("from", "to"))],
)
async def service_recovery(
    request: Request,
    from_: Annotated[str, Query(alias="from", pattern=DAY, description="the first day (YYYY-MM-DD)")],
    to: Annotated[str, Query(pattern=DAY, description="the last day, included (YYYY-MM-DD)")],
) -> Response:
    first, last = parse_report_day(from_, "from"), parse_report_day(to, "to")
    report = await run_in_threadpool(service_recovery_report, container(request), first, last)
    return json_response(report_body(report))
