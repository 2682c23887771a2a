"""Finding a member and the member page (standing, balances, expiring lots, statement, history)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from miles.console.award_pages import award_context
from miles.console.forms import query_line
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import SECURITY_HEADERS, is_htmx, render
from miles.console.security import console_session
from miles.console.service_pages import new_request_key
from miles.console.state import in_thread
from miles.domain.goodwill import REASONS
from miles.services.agents import ConsoleSession
from miles.services.member_overview import member_overview, statement_slice
from miles.services.member_search import search_members

router = APIRouter(prefix="/console/members", include_in_schema=False, route_class=ConsolePageRoute)


@router.get("")
async def find(
    request: Request,
    session: Annotated[ConsoleSession, Depends(console_session)],
    q: Annotated[str, Depends(query_line("q", 200))],
) -> Response:
    result = await in_thread(request, lambda c: search_members(c, q))
    if is_htmx(request):
        return render(request, "partials/search_results.html", {"result": result})
    if result.kind == "number" and len(result.hits) == 1:  # a whole, known number: straight to the member
        target = f"/console/members/{result.hits[0].member_number}"
        return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
    return render(request, "search.html", {"result": result, "q": q})


@router.get("/{member_number}")
async def member_page(
    member_number: str, request: Request, session: Annotated[ConsoleSession, Depends(console_session)]
) -> Response:
    # a malformed number (422) or an unknown member (404): the error page, with the API's status
    overview = await in_thread(request, lambda c: member_overview(c, member_number))
    context = {
        "o": overview,
        "m": overview.member,
        "reasons": REASONS,
        "goodwill_limit": overview.goodwill_limit,
        # each form its own key: sent twice (a double click), it is answered once
        "goodwill_key": new_request_key(),
        "claim_key": new_request_key(),
    }
    context |= award_context(overview)
    return render(request, "member.html", context)


@router.get("/{member_number}/statement")
async def statement_rows(
    member_number: str,
    request: Request,
    session: Annotated[ConsoleSession, Depends(console_session)],
    cursor: Annotated[str, Depends(query_line("cursor", 200))],
) -> Response:
    page = await in_thread(request, lambda c: statement_slice(c, member_number, cursor or None))
    return render(request, "partials/statement_rows.html", {"statement": page, "number": member_number})
