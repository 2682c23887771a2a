"""Supervisors' pages: the goodwill approval queue and the audit trail (403 for agents)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from miles.console.forms import query_id, query_line, read_form
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import SECURITY_HEADERS, is_htmx, render
from miles.console.security import supervisor_session
from miles.console.state import in_thread
from miles.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from miles.http_errors import status_of
from miles.services.adjustment_requests import read_adjustment
from miles.services.agents import ConsoleSession
from miles.services.audit import audit_page
from miles.services.goodwill.adjustments import (
    AdjustmentView,
    approval_queue,
    approve_goodwill,
    reject_goodwill,
)

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsolePageRoute)
Supervisor = Annotated[ConsoleSession, Depends(supervisor_session)]


@router.get("/approvals")
async def approvals(request: Request, session: Supervisor) -> Response:
    queue = await in_thread(request, lambda c: approval_queue(c, session.actor))
    return render(request, "approvals.html", {"queue": queue})


@router.post("/approvals/{adjustment_id}/{decision}")
async def decide(adjustment_id: int, decision: str, request: Request, session: Supervisor) -> Response:
    if decision not in ("approve", "reject"):
        raise NotFound("a request is approved or rejected")
    values = await read_form(request)
    note = values.get("note")
    errors: dict[str, str] = {}
    status = 200
    decided: AdjustmentView | None = None
    try:
        if decision == "approve":
            decided = await in_thread(
                request, lambda c: approve_goodwill(c, session.actor, adjustment_id, note)
            )
        else:
            decided = await in_thread(
                request, lambda c: reject_goodwill(c, session.actor, adjustment_id, note)
            )
    except (InvalidInput, Conflict, Forbidden) as exc:  # shown on the request's row; a NotFound is a page
        errors[exc.field or "form"] = exc.message
        status = status_of(exc)
    if not is_htmx(request):
        if errors:
            queue = await in_thread(request, lambda c: approval_queue(c, session.actor))
            return render(
                request,
                "approvals.html",
                {"queue": queue, "errors": errors, "failed_id": adjustment_id},
                status,
            )
        return RedirectResponse("/console/approvals", status_code=303, headers=SECURITY_HEADERS)
    if errors:
        item = await in_thread(request, lambda c: read_adjustment(c, adjustment_id))
        return render(
            request, "partials/approval_row.html", {"item": item, "errors": errors, "values": values}, status
        )
    return render(request, "partials/approval_row.html", {"item": decided, "errors": {}})


@router.get("/audit")
async def audit(
    request: Request,
    session: Supervisor,
    actor: Annotated[str, Depends(query_line("actor", 100))],
    action: Annotated[str, Depends(query_line("action", 100))],
    member: Annotated[str, Depends(query_line("member", 20))],
    before: Annotated[int | None, Depends(query_id("before"))],
) -> Response:
    filters = {"actor": actor, "action": action, "member": member}
    try:
        rows, next_before = await in_thread(
            request,
            lambda c: audit_page(
                c,
                session.actor,
                before=before,
                actor=actor.strip(),
                action=action.strip(),
                member_number=member.strip(),
            ),
        )
    except InvalidInput as exc:
        return render(
            request,
            "audit.html",
            {
                "rows": [],
                "next_before": None,
                "values": filters,
                "errors": {exc.field or "form": exc.message},
            },
            status_of(exc),
        )
    return render(request, "audit.html", {"rows": rows, "next_before": next_before, "values": filters})
