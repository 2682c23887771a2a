"""The member page's Complaints panel (agents and supervisors): the member's complaints (category, text,
resolution, the goodwill linked, who recorded it and when), a form to record one (with a resolution and
the goodwill granted for it, optionally), and on each open complaint a form to resolve it or link its
goodwill.

The forms follow miles.console.service_pages: they post with htmx and get the panel back, with what
happened and an HX-Trigger that refreshes the member's audit trail, or with each problem next to its
field (422, 409 for a conflict, 404 for another member's complaint) and nothing written; a request key
answers a double submission once. Descriptions and resolutions are up to 2,000 characters on several
lines: this module reads its forms itself (miles.console.forms.read_form keeps 1,000 characters on one
line), and a control character in them is shown next to its field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from miles.console.forms import FieldErrors, refuse_control_characters
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import back_to_member, is_htmx, member_panel, render
from miles.console.security import console_session
from miles.console.service_pages import new_request_key
from miles.console.state import in_thread
from miles.domain.agents import Role
from miles.domain.complaints import CATEGORY_NAMES, MAX_TEXT
from miles.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from miles.domain.goodwill import REASONS
from miles.domain.limits import BIGINT_MAX
from miles.http_errors import status_for, status_of
from miles.services.agents import ConsoleSession
from miles.services.complaints import ComplaintView, member_complaints, record_complaint, update_complaint

router = APIRouter(
    prefix="/console/members/{member_number}/complaints",
    include_in_schema=False,
    route_class=ConsolePageRoute,
)
PANEL = "partials/complaints_panel.html"
CHANGED = {"HX-Trigger": "memberChanged"}
TEXT_FIELDS = frozenset({"description", "resolution"})  # on several lines, checked by the domain
FIELDS = {"category", "description", "resolution", "goodwill_id"}
ComplaintId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


def handles_complaints(session: ConsoleSession | None) -> bool:
    return session is not None and session.actor.role in (Role.AGENT, Role.SUPERVISOR)


async def desk_session(session: Annotated[ConsoleSession, Depends(console_session)]) -> ConsoleSession:
    if not handles_complaints(session):
        raise Forbidden("Complaints are recorded by agents and supervisors.", code="agents_only")
    return session


Desk = Annotated[ConsoleSession, Depends(desk_session)]


async def complaints_context(request: Request, member_number: str) -> dict[str, Any]:
    """What the member page needs to show the panel (nothing for managers and finance)."""
    session = getattr(request.state, "console_session", None)
    if not handles_complaints(session):
        return {"complaints": None}
    view = await in_thread(request, lambda c: member_complaints(c, member_number))
    return {
        "complaints": view,
        "complaint_key": new_request_key(),
        "complaint_categories": CATEGORY_NAMES,
        "goodwill_reasons": REASONS,
    }


async def _read(request: Request) -> dict[str, str]:
    """The form's fields, stripped; a control character outside the texts is the error page (as
    read_form does), inside them it is the domain's to name next to its field."""
    form = await request.form()
    values: dict[str, str] = {}
    for name, raw in form.items():
        if not isinstance(raw, str):
            continue
        limit = MAX_TEXT * 2 if name in TEXT_FIELDS else 1000
        value = raw.strip()[:limit]
        if name not in TEXT_FIELDS:
            refuse_control_characters(name, value)
        values[name] = value
    return values


def _goodwill_id(values: dict[str, str], errors: FieldErrors) -> int | None:
    raw = values.get("goodwill_id", "")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= BIGINT_MAX):
        errors.add("goodwill_id", "choose one of the member's goodwill adjustments")
        return None
    return int(raw)


async def _panel(
    request: Request,
    member_number: str,
    extra: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    if not is_htmx(request) and 200 <= status_code < 300:  # a plain form post: back to the member page
        return back_to_member(member_number)
    context = await complaints_context(request, member_number)
    context |= {"number": member_number} | extra
    return member_panel(request, PANEL, context, status_code, headers)


def _shown(errors: FieldErrors) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, message in errors.errors.items():
        out.setdefault(name if name in FIELDS else "form", message)
    return out


@router.get("")
async def panel(member_number: str, request: Request, session: Desk) -> Response:
    """The panel alone (htmx), or the member page."""
    if not is_htmx(request):
        return back_to_member(member_number)
    return await _panel(request, member_number, {})


@router.get("/goodwill")
async def goodwill_field(member_number: str, request: Request, session: Desk) -> Response:
    """The record form's goodwill select, read afresh (after a grant elsewhere on the page)."""
    context = await complaints_context(request, member_number)
    return render(request, "partials/complaint_goodwill.html", context | {"number": member_number})


@router.post("")
async def record(member_number: str, request: Request, session: Desk) -> Response:
    values = await _read(request)
    errors = FieldErrors()
    goodwill_id = _goodwill_id(values, errors)
    category, description = values.get("category", ""), values.get("description", "")
    resolution = values.get("resolution") or None
    done: ComplaintView | None = None
    status = status_for(InvalidInput)
    if not errors:
        try:
            done = await in_thread(
                request,
                lambda c: record_complaint(
                    c,
                    session.actor,
                    member_number,
                    category,
                    description,
                    resolution,
                    goodwill_id,
                    request_key=values.get("request_key") or None,
                ),
            )
        except (InvalidInput, Conflict) as exc:
            if exc.field == "member_number":
                raise
            errors.add_error(exc)
            status = status_of(exc)
    if done is None:
        return await _panel(request, member_number, {"errors": _shown(errors), "values": values}, status)
    return await _panel(request, member_number, {"done": done, "done_action": "recorded"}, headers=CHANGED)


@router.post("/{complaint_id}")
async def update(member_number: str, complaint_id: ComplaintId, request: Request, session: Desk) -> Response:
    """Resolve an open complaint and/or link the goodwill granted for it (each once)."""
    values = await _read(request)
    errors = FieldErrors()
    goodwill_id = _goodwill_id(values, errors)
    resolution = values.get("resolution") or None
    done: ComplaintView | None = None
    status = status_for(InvalidInput)
    if not errors:
        try:
            done = await in_thread(
                request,
                lambda c: update_complaint(
                    c, session.actor, member_number, complaint_id, resolution, goodwill_id
                ),
            )
        except (InvalidInput, Conflict, NotFound) as exc:
            if exc.field == "member_number":
                raise
            if isinstance(exc, InvalidInput):
                errors.add_error(exc)
            else:  # the complaint as it stands (resolved, linked meanwhile): above the form
                errors.add("form", exc.message)
            status = status_of(exc)
    if done is None:
        extra = {"edit_id": complaint_id, "edit_errors": _shown(errors), "edit_values": values}
        return await _panel(request, member_number, extra, status)
    return await _panel(request, member_number, {"done": done, "done_action": "updated"}, headers=CHANGED)
