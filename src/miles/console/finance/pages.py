"""Finance's pages (403 for everyone else): the months (closed ones, the liability over time by source,
revenue recognised per month as charts, a form that closes the next month), a month's page (its figures,
breakage by cohort as a chart, the cohorts) with CSV downloads, and every partner's last twelve months."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from miles.console.finance.chart import issued_chart
from miles.console.finance.charts import breakage_chart, liability_chart, revenue_chart
from miles.console.forms import read_form
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import SECURITY_HEADERS, render
from miles.console.security import finance_session
from miles.console.state import in_thread
from miles.domain.errors import Conflict, InvalidInput, NotFound
from miles.domain.finance.months import parse_month
from miles.http_errors import status_of
from miles.services.agents import ConsoleSession
from miles.services.finance.close import close_month, closed_periods, period_for
from miles.services.finance.overview import overview, partner_billing
from miles.services.finance.views import cohorts_csv, liability_csv, months_csv, period_view
from miles.services.partners.settlement import recent_months

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsolePageRoute)
Finance = Annotated[ConsoleSession, Depends(finance_session)]
Month = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$")]
MONTHS = 12


def _csv(content: str, name: str) -> Response:
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content, media_type="text/csv; charset=utf-8", headers=headers)


async def _months_page(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    view = await in_thread(request, overview)
    charts = {
        "liability": liability_chart(view.outstanding),
        "revenue": revenue_chart(view.periods, view.currency),
    }
    context = {"o": view, "charts": charts, "values": values, "errors": errors}
    return render(request, "finance/months.html", context, status)


@router.get("/finance")
async def home(request: Request, session: Finance) -> Response:
    return await _months_page(request, {}, {}, 200)


@router.post("/finance/close")
async def close(request: Request, session: Finance) -> Response:
    values = await read_form(request)
    try:
        month = parse_month(values.get("month", "").strip())
        await in_thread(request, lambda c: close_month(c, month, f"console:{session.actor.name}"[:200]))
    except (InvalidInput, Conflict) as exc:
        return await _months_page(request, values, {"month": exc.message}, status_of(exc))
    return RedirectResponse(
        f"/console/finance/months/{month:%Y-%m}", status_code=303, headers=SECURITY_HEADERS
    )


@router.get("/finance/months.csv")
async def months_export(request: Request, session: Finance) -> Response:
    records = await in_thread(request, closed_periods)
    return _csv(months_csv(records), "finance-months.csv")


@router.get("/finance/months/{month}")
async def month_page(month: Month, request: Request, session: Finance) -> Response:
    day = parse_month(month)
    read = await in_thread(request, lambda c: period_for(c, day))
    view = period_view(read.measured, read.closed)
    billing = await in_thread(request, lambda c: partner_billing(c, day))
    return render(
        request, "finance/month.html", {"p": view, "chart": breakage_chart(view), "billing": billing}
    )


@router.get("/finance/months/{month}/{part}.csv")
async def month_export(month: Month, part: str, request: Request, session: Finance) -> Response:
    if part not in ("cohorts", "liability"):
        raise NotFound(f"no finance file {part!r}", code="report_not_found")
    day = parse_month(month)
    read = await in_thread(request, lambda c: period_for(c, day))
    label = month + ("" if read.closed else "-not-closed")
    if part == "cohorts":
        return _csv(cohorts_csv(period_view(read.measured, read.closed)), f"finance-{label}-cohorts.csv")
    return _csv(liability_csv(read.measured), f"finance-{label}-liability.csv")


@router.get("/finance/partners")
async def partners(request: Request, session: Finance) -> Response:
    recent = await in_thread(request, lambda c: recent_months(c, MONTHS))
    chart = issued_chart(recent.months, recent.partners)
    return render(request, "finance/partners.html", {"recent": recent, "chart": chart})
