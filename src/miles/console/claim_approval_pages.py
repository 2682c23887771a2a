"""Supervisors' queue of missing-miles claims above the agent limit: approve (credited then, through the
accrual use case under the coupon's own key) or reject with a note. 403 for agents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from miles.console.forms import read_form
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import SECURITY_HEADERS, is_htmx, render
from miles.console.security import supervisor_session
from miles.console.state import in_thread
from miles.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from miles.http_errors import status_of
from miles.services.adjustment_requests import read_claim
from miles.services.agents import ConsoleSession
from miles.services.claims import ClaimView, approve_claim, claim_queue, reject_claim

router = APIRouter(prefix="/console/approvals/claims", include_in_schema=False, route_class=ConsolePageRoute)
Supervisor = Annotated[ConsoleSession, Depends(supervisor_session)]


@router.get("")
async def claims_waiting(request: Request, session: Supervisor) -> Response:
    queue = await in_thread(request, lambda c: claim_queue(c, session.actor))
    return render(request, "claim_approvals.html", {"queue": queue})


@router.post("/{claim_id}/{decision}")
async def decide_claim(claim_id: int, decision: str, request: Request, session: Supervisor) -> Response:
    if decision not in ("approve", "reject"):
        raise NotFound("a claim is approved or rejected")
    note = (await read_form(request)).get("note")
    errors: dict[str, str] = {}
    status = 200
    decided: ClaimView | None = None
    try:
        if decision == "approve":
            decided = await in_thread(request, lambda c: approve_claim(c, session.actor, claim_id, note))
        else:
            decided = await in_thread(request, lambda c: reject_claim(c, session.actor, claim_id, note))
    except (InvalidInput, Conflict, Forbidden) as exc:  # shown on the claim's row; a NotFound is a page
        errors[exc.field if exc.field == "note" else "form"] = exc.message
        status = status_of(exc)
    if not is_htmx(request):
        if errors:
            queue = await in_thread(request, lambda c: claim_queue(c, session.actor))
            context = {"queue": queue, "errors": errors, "failed_id": claim_id}
            return render(request, "claim_approvals.html", context, status)
        return RedirectResponse("/console/approvals/claims", status_code=303, headers=SECURITY_HEADERS)
    if errors:
        item = await in_thread(request, lambda c: read_claim(c, claim_id))
        return render(request, "partials/claim_approval_row.html", {"item": item, "errors": errors}, status)
    return render(request, "partials/claim_approval_row.html", {"item": decided, "errors": {}})
