"""Finance's pages (403 for everyone else): every partner's last twelve months (closed ones as they were
closed, open ones as they stand), with the miles issued per partner per month as a chart."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from miles.console.finance.chart import issued_chart
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import SECURITY_HEADERS, render
from miles.console.security import finance_session
from miles.console.state import in_thread
from miles.services.agents import ConsoleSession
from miles.services.partners.settlement import recent_months

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsolePageRoute)
Finance = Annotated[ConsoleSession, Depends(finance_session)]
MONTHS = 12


@router.get("/finance")
async def home(request: Request, session: Finance) -> Response:
    return RedirectResponse("/console/finance/partners", status_code=303, headers=SECURITY_HEADERS)


@router.get("/finance/partners")
async def partners(request: Request, session: Finance) -> Response:
    recent = await in_thread(request, lambda c: recent_months(c, MONTHS))
    chart = issued_chart(recent.months, recent.partners)
    return render(request, "finance/partners.html", {"recent": recent, "chart": chart})
