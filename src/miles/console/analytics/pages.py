"""The retention pages (managers; 403 for everyone else): who left and why, who came back and what brought
them, segment sizes over time (`/console/retention`), cohort retention as a heat map (`/cohorts`), and each
promotion's cost against the members it reactivated (`/promotions`); every report downloads as CSV. A range
of months (`from`, `to`, YYYY-MM) is chosen in a form; a bad one is refused next to its field."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from miles.console.analytics.charts import (
    heat_map,
    lost_chart,
    promotions_chart,
    segments_chart,
    won_back_chart,
)
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import SECURITY_HEADERS, render
from miles.console.security import manager_session
from miles.console.state import in_thread
from miles.domain.errors import InvalidInput, NotFound
from miles.domain.retention import Cause
from miles.domain.segments import Flag, Segment
from miles.http_errors import status_for
from miles.services import retention
from miles.services.agents import ConsoleSession
from miles.services.runtime import Runtime

router = APIRouter(prefix="/console/retention", include_in_schema=False, route_class=ConsolePageRoute)
Manager = Annotated[ConsoleSession, Depends(manager_session)]


def _range_values(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip()[:7] for name in ("from", "to")}


async def _months(request: Request) -> tuple[retention.Months | None, dict[str, str], dict[str, str]]:
    values = _range_values(request)
    try:
        months = await in_thread(
            request, lambda c: retention.months_of(c, values["from"] or None, values["to"] or None)
        )
    except InvalidInput as exc:
        return None, values, {exc.field or "from": exc.message}
    return months, values, {}


async def _page(
    request: Request, template: str, work: Callable[[Runtime, retention.Months], dict[str, object]]
) -> Response:
    months, values, errors = await _months(request)
    if months is None:
        return render(request, template, {"values": values, "errors": errors}, status_for(InvalidInput))
    context = await in_thread(request, lambda c: work(c, months))
    shown = {"from": months.labels[0], "to": months.labels[-1]}
    return render(request, template, {"values": shown, "errors": {}, "query": _query(shown), **context})


def _query(values: dict[str, str]) -> str:
    return f"?from={values['from']}&to={values['to']}"


def _overview(c: Runtime, months: retention.Months) -> dict[str, object]:
    points = retention.segment_history(c, months)
    lost = retention.lost_members(c, months)
    back = retention.won_back(c, months)
    return {
        "points": points,
        "lost": lost,
        "back": back,
        "charts": {
            "segments": segments_chart(points),
            "lost": lost_chart(lost),
            "back": won_back_chart(back),
        },
        "segments": [s.value for s in Segment],
        "flags": [f.value for f in Flag],
        "causes": [c.value for c in Cause],
    }


@router.get("")
async def overview(request: Request, session: Manager) -> Response:
    return await _page(request, "analytics/overview.html", _overview)


def _cohorts(c: Runtime, months: retention.Months) -> dict[str, object]:
    cohorts = retention.cohort_retention(c, months)
    return {"cohorts": cohorts, "chart": heat_map(cohorts), "since": list(range(retention.DEFAULT_MONTHS))}


@router.get("/cohorts")
async def cohorts(request: Request, session: Manager) -> Response:
    return await _page(request, "analytics/cohorts.html", _cohorts)


def _promotions(c: Runtime, months: retention.Months) -> dict[str, object]:
    currency, rows = retention.promotion_returns(c, months)
    return {"currency": currency, "rows": rows, "chart": promotions_chart(rows, currency)}


@router.get("/promotions")
async def promotions(request: Request, session: Manager) -> Response:
    return await _page(request, "analytics/promotions.html", _promotions)


def _csv(header: list[str], rows: list[list[object]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def _export(report: str, c: Runtime, months: retention.Months) -> tuple[list[str], list[list[object]]]:
    if report == "segments":
        points = retention.segment_history(c, months)
        names = [s.value for s in Segment] + [f.value for f in Flag]
        return ["date", *names], [
            [p.date, *(p.counts.get(n, p.flags.get(n, 0)) for n in names)] for p in points
        ]
    if report == "lost":
        causes = [x.value for x in Cause]
        return ["month", "lost", *causes], [
            [m.month, m.lost, *(m.causes[x] for x in causes)] for m in retention.lost_members(c, months)
        ]
    if report == "won-back":
        rows = [
            [m.month, m.won_back, code, members]
            for m in retention.won_back(c, months)
            for code, members in m.promotions.items()
        ]
        return ["month", "won_back", "promotion", "members"], rows
    if report == "cohorts":
        return ["enrolment_month", "members", "months_since", "retained_share"], [
            [c_.enrolment_month, c_.members, k, share]
            for c_ in retention.cohort_retention(c, months)
            for k, share in enumerate(c_.retained)
            if share is not None
        ]
    currency, rows_ = retention.promotion_returns(c, months)
    return [
        "code",
        "name",
        "miles_awarded",
        "members_awarded",
        "members_reactivated",
        f"cost_{currency}",
        "cost_per_reactivated",
    ], [
        [
            r.code,
            r.name,
            r.miles_awarded,
            r.members_awarded,
            r.members_reactivated,
            r.cost,
            r.cost_per_reactivated or "",
        ]
        for r in rows_
    ]


REPORTS = ("segments", "lost", "won-back", "cohorts", "promotions")


@router.get("/export/{report}.csv")
async def export(report: str, request: Request, session: Manager) -> Response:
    if report not in REPORTS:
        raise NotFound(f"no retention report {report!r}", code="report_not_found")
    values = _range_values(request)  # a bad range rises as the console's error page (422, naming it)
    months = await in_thread(
        request, lambda c: retention.months_of(c, values["from"] or None, values["to"] or None)
    )
    header, rows = await in_thread(request, lambda c: _export(report, c, months))
    return _csv(header, rows, f"retention-{report}-{months.labels[0]}-{months.labels[-1]}.csv")
