"""Finding a member and the member page (standing, balances, expiring lots, statement, history, the
member's promotions); registering the member for a promotion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from miles.console.award_pages import award_context
from miles.console.complaint_pages import complaints_context
from miles.console.forms import query_line, read_form
from miles.console.page_errors import ConsolePageRoute
from miles.console.promotions.pages import PROMOTION_CODE
from miles.console.rendering import SECURITY_HEADERS, back_to_member, is_htmx, member_panel, render
from miles.console.security import console_session
from miles.console.service_pages import new_request_key
from miles.console.state import in_thread
from miles.domain.errors import Conflict, InvalidInput, NotFound
from miles.domain.goodwill import REASONS
from miles.http_errors import status_for, status_of
from miles.services.agents import ConsoleSession
from miles.services.member_overview import member_overview, statement_slice
from miles.services.member_search import search_members
from miles.services.promotions.campaigns import member_promotions, register_member
from miles.services.segments import member_segment_read

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
    promotions = await in_thread(request, lambda c: member_promotions(c, member_number))
    context = {
        "o": overview,
        "m": overview.member,
        "reasons": REASONS,
        "goodwill_limit": overview.goodwill_limit,
        # each form its own key: sent twice (a double click), it is answered once
        "goodwill_key": new_request_key(),
        "claim_key": new_request_key(),
        "member_promotions": promotions.promotions,
        "segment": await in_thread(request, lambda c: member_segment_read(c, member_number)),
    }
    context |= award_context(overview)
    context |= await complaints_context(request, member_number)
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


@router.post("/{member_number}/promotions")
async def register_for_promotion(
    member_number: str, request: Request, session: Annotated[ConsoleSession, Depends(console_session)]
) -> Response:
    """Register the member for a promotion that asks for registration: the panel again, with what
    happened or the refusal next to the code (an unknown member is the error page)."""
    values = await read_form(request)
    code = values.get("code", "").upper()
    errors: dict[str, str] = {}
    status = 200
    done = None
    if not PROMOTION_CODE.fullmatch(code):
        errors["code"] = "a promotion's code, like DBL-LHR"
        status = status_for(InvalidInput)
    else:
        try:
            done = await in_thread(request, lambda c: register_member(c, session.actor, code, member_number))
        except (InvalidInput, Conflict, NotFound) as exc:
            if exc.field != "code":  # the member: the error page
                raise
            errors["code"] = exc.message
            status = status_of(exc)
    if not errors and not is_htmx(request):
        return back_to_member(member_number)
    view = await in_thread(request, lambda c: member_promotions(c, member_number))
    context = {
        "number": member_number,
        "member_promotions": view.promotions,
        "done": done,
        "errors": errors,
        "values": {"code": code} if errors else {},
    }
    headers = None if errors else {"HX-Trigger": "memberChanged"}
    return member_panel(request, "partials/promotions_panel.html", context, status, headers)
