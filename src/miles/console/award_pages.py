"""Awards in the console: quote and book flight awards, extra bags and hotel nights; watch a booking turn
CONFIRMED or FAILED without reloading (htmx polls the status while it is PENDING); cancel, with the fee
shown before the agent confirms."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.console.forms import FieldErrors, read_form
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import render
from miles.console.security import console_session
from miles.console.service_pages import CHANGED, new_request_key
from miles.console.state import app_container, in_thread
from miles.domain.awards import MAX_BAGS, MAX_NIGHTS, AwardItem, BaggageAward, FlightAward, HotelAward
from miles.domain.errors import Conflict, InvalidInput, MilesError, NotFound, SupplierUnavailable
from miles.http_errors import status_for, status_of
from miles.services.agents import ConsoleSession
from miles.services.award_desk import AwardChoices, award_choices, book_award, cancellation_terms
from miles.services.member_overview import MemberOverview
from miles.services.redemptions.cancellation import cancel_award
from miles.services.redemptions.submission import AwardRequest, quote, read_redemption

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsolePageRoute)
# the refusals a form shows next to its fields; any other (unknown member, not allowed) is the error page
SHOWN_ON_FORM = (InvalidInput, Conflict, SupplierUnavailable)
Session = Annotated[ConsoleSession, Depends(console_session)]
ITEM_FIELD = re.compile(r"^items\[(\d+)\]\.?(\w*)$")


def _choices(choices: AwardChoices) -> dict[str, Any]:
    return {"cabins": choices.cabins, "hotel_categories": choices.hotel_categories, "bags": choices.bags}


def award_context(overview: MemberOverview) -> dict[str, Any]:
    """What the member page shows of awards: the recent redemptions and the award form's choices."""
    return {
        "awards_enabled": True,
        "award_key": new_request_key(),
        "redemptions": overview.redemptions,
        **_choices(overview.award_choices),
    }


def _award_items(values: dict[str, str], errors: FieldErrors) -> tuple[list[AwardItem], list[str]]:
    """The items the form asks for, and each item's kind (to put a service error next to its field)."""
    items: list[AwardItem] = []
    kinds: list[str] = []
    wants_flight = any(values.get(k) for k in ("origin", "destination", "departure_date"))
    bags = errors.integer(values | {"bags": values.get("bags") or "0"}, "bags", "Extra bags", 0, MAX_BAGS)
    if wants_flight or bags:
        origin = errors.pattern(values, "origin", "From", r"[A-Z]{3}", "an airport code, like JFK")
        destination = errors.pattern(values, "destination", "To", r"[A-Z]{3}", "an airport code, like LHR")
        day = errors.iso_date(values, "departure_date", "Date")
        cabin = values.get("cabin") or "economy"
        if day is not None and not errors:
            if wants_flight:
                items.append(FlightAward(origin, destination, day, cabin))
                kinds.append("flight")
            if bags:
                items.append(BaggageAward(origin, destination, day, bags))
                kinds.append("baggage")
    if values.get("city") or values.get("check_in_date"):
        city = errors.pattern(values, "city", "City", r"[A-Z]{3}", "a city code, like LON")
        category = errors.integer(values, "hotel_category", "Category", 1, 9)
        check_in = errors.iso_date(values, "check_in_date", "Check-in")
        nights = errors.integer(
            values | {"nights": values.get("nights") or "1"}, "nights", "Nights", 1, MAX_NIGHTS
        )
        if check_in is not None and not errors:
            items.append(HotelAward(city, category, check_in, nights))
            kinds.append("hotel")
    if not items and not errors:
        errors.add("form", "ask for a flight (from, to, date), extra bags, or a hotel (city, check-in)")
    return items, kinds


def _place(error: MilesError, kinds: list[str], errors: FieldErrors) -> None:
    """A service error next to the form field it is about."""
    found = ITEM_FIELD.match(error.field or "")
    if found:
        kind, name = kinds[int(found.group(1))], found.group(2)
        field = "bags" if kind == "baggage" and name == "pieces" else name
        errors.add(field if field in FORM_FIELDS else "form", error.message)
    else:
        errors.add("form", error.message)


FORM_FIELDS = {
    "origin",
    "destination",
    "departure_date",
    "cabin",
    "bags",
    "city",
    "hotel_category",
    "check_in_date",
    "nights",
}


async def _panel(
    request: Request,
    member_number: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    choices = await in_thread(request, award_choices)
    base: dict[str, Any] = {
        "number": member_number,
        "award_key": new_request_key(),
        "values": {},
        "errors": {},
        "quote": None,
        "booked": None,
    }
    context = base | _choices(choices) | context
    return render(request, "partials/award_panel.html", context, status_code, headers)


@router.post("/members/{member_number}/awards/{action}")
async def award(member_number: str, action: str, request: Request, session: Session) -> Response:
    if action not in ("quote", "book"):
        raise NotFound("awards are quoted or booked")
    values = await read_form(request)
    for name in ("origin", "destination", "city"):
        values[name] = values.get(name, "").upper()
    errors = FieldErrors()
    items, kinds = _award_items(values, errors)
    if errors:
        refused = status_for(InvalidInput)  # the form's own checks
        return await _panel(request, member_number, {"values": values, "errors": errors.errors}, refused)
    wanted = AwardRequest(member_number, tuple(items))
    c = app_container(request)
    key = values.get("request_key") or None
    try:
        if action == "quote":
            view = await run_in_threadpool(quote, c, wanted)
            context = {"values": values, "quote": view, "award_key": key or new_request_key()}
            return await _panel(request, member_number, context)
        booked = await run_in_threadpool(book_award, c, session.actor, wanted, key)
    except SHOWN_ON_FORM as exc:
        _place(exc, kinds, errors)
        return await _panel(
            request, member_number, {"values": values, "errors": errors.errors}, status_of(exc)
        )
    return await _panel(request, member_number, {"booked": booked.value.redemption_id}, headers=CHANGED)


@router.get("/redemptions/{redemption_id}/status")
async def status(redemption_id: int, request: Request, session: Session) -> Response:
    view = await in_thread(request, lambda c: read_redemption(c, redemption_id))
    headers = None if view.status == "PENDING" else CHANGED  # settled: refresh the balances and lists
    return render(request, "partials/redemption_status.html", {"r": view}, headers=headers)


@router.get("/redemptions/{redemption_id}/cancel")
async def cancel_terms(redemption_id: int, request: Request, session: Session) -> Response:
    terms = await in_thread(request, lambda c: cancellation_terms(c, redemption_id))
    return render(request, "partials/cancel_terms.html", {"t": terms})


@router.post("/redemptions/{redemption_id}/cancel")
async def cancel(redemption_id: int, request: Request, session: Session) -> Response:
    values = await read_form(request)
    c = app_container(request)
    try:
        outcome = await run_in_threadpool(
            cancel_award, c, redemption_id, session.actor, values.get("reason")
        )  # audited with its refund, once, whichever request or job completes it
    except SHOWN_ON_FORM as exc:
        terms = await in_thread(request, lambda c: cancellation_terms(c, redemption_id))
        context = {"t": terms, "error": exc.message}
        return render(request, "partials/cancel_terms.html", context, status_of(exc))
    context = {"result": outcome.value, "redemption_id": redemption_id}
    return render(request, "partials/cancel_done.html", context, headers=CHANGED)
