"""The member service forms: goodwill miles and missing-miles claims.

Forms post with htmx and get their panel back: on success a fresh form with what happened (and an
HX-Trigger that refreshes the member's balances, statement and audit trail), on a refusal the same
form with each problem next to its field (422, or the refusal's own status: 409 for a conflict) and
nothing written. Each rendered form carries a request key, so a double submission is answered with the
first result instead of granting twice."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from miles.console.forms import FieldErrors, read_form
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import back_to_member, is_htmx, member_panel
from miles.console.security import console_session
from miles.console.state import in_thread
from miles.domain.accrual import FlightCoupon
from miles.domain.errors import Conflict, InvalidInput
from miles.domain.goodwill import MAX_MILES, REASONS, validate_goodwill
from miles.http_errors import status_for, status_of
from miles.services import adjustment_requests
from miles.services.agents import ConsoleSession
from miles.services.award_desk import desk_owner
from miles.services.claims import FORM_FIELDS, ClaimView
from miles.services.goodwill.adjustments import AdjustmentView, agent_limit
from miles.services.idempotency import Outcome
from miles.services.runtime import Runtime

router = APIRouter(
    prefix="/console/members/{member_number}", include_in_schema=False, route_class=ConsolePageRoute
)
CHANGED = {"HX-Trigger": "memberChanged"}
GOODWILL_FIELDS = {"miles", "reason_code", "comment"}
CLAIM_FIELDS = {
    "ticket_number",
    "coupon_number",
    "marketing_carrier",
    "operating_carrier",
    "flight_number",
    "booking_class",
    "origin",
    "destination",
    "departure_date",
    "fare_amount",
    "fare_currency",
    "comment",
}


def shown(errors: dict[str, str], fields: set[str]) -> dict[str, str]:
    """Each error next to its field; one about anything the form has no field for, at the top."""
    out: dict[str, str] = {}
    for name, message in errors.items():
        field = FORM_FIELDS.get(name, name)  # the API's `fare.amount` is the form's `fare_amount`
        out.setdefault(field if field in fields else "form", message)
    return out


def new_request_key() -> str:
    return secrets.token_urlsafe(18)


async def _panel(
    request: Request,
    template: str,
    member_number: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    if not is_htmx(request) and 200 <= status_code < 300:  # a plain form post: back to the member page
        return back_to_member(member_number)
    limit = await in_thread(request, agent_limit)
    base = {
        "number": member_number,
        "request_key": new_request_key(),
        "reasons": REASONS,
        "goodwill_limit": limit,
    }
    return member_panel(request, template, base | context, status_code, headers)


T = TypeVar("T")


async def _write(request: Request, errors: FieldErrors, work: Callable[[Runtime], T]) -> tuple[T | None, int]:
    """Run a write use case: (its result, 200), or on a refusal (None, the refusal's status), the refusal
    in `errors` and everything rolled back. Any other refusal (an unknown member, not allowed) rises to
    the error page."""
    try:
        return await in_thread(request, work), 200
    except (InvalidInput, Conflict) as exc:  # a CouponRaced that kept racing is a Conflict too
        errors.add_error(exc)
        return None, status_of(exc)


@router.post("/goodwill")
async def grant_goodwill(
    member_number: str, request: Request, session: Annotated[ConsoleSession, Depends(console_session)]
) -> Response:
    values = await read_form(request)
    errors = FieldErrors()
    miles = errors.integer(values, "miles", "Miles", 1, MAX_MILES)
    reason, comment = values.get("reason_code", ""), values.get("comment", "")
    try:
        validate_goodwill(miles if "miles" not in errors.errors else 1, reason, comment)
    except InvalidInput as exc:
        errors.add_error(exc)
    result: Outcome[AdjustmentView] | None = None
    status = status_for(InvalidInput)  # the form's own checks refused it
    if not errors:
        result, status = await _write(
            request,
            errors,
            lambda c: adjustment_requests.grant_goodwill(
                c,
                session.actor,
                desk_owner(session.actor),
                values.get("request_key") or None,
                member_number,
                miles,
                reason,
                comment,
            ),
        )
    if result is None:
        return await _panel(
            request,
            "partials/goodwill_panel.html",
            member_number,
            {"errors": shown(errors.errors, GOODWILL_FIELDS), "values": values},
            status,
        )
    return await _panel(
        request, "partials/goodwill_panel.html", member_number, {"done": result.value}, headers=CHANGED
    )


def _coupon(member_number: str, values: dict[str, str], errors: FieldErrors) -> FlightCoupon | None:
    ticket = errors.pattern(values, "ticket_number", "Ticket number", r"[0-9]{13}", "13 digits")
    coupon_number = errors.integer(values, "coupon_number", "Coupon number", 1, 4)
    carrier = errors.pattern(values, "marketing_carrier", "Carrier", r"[A-Z0-9]{2}", "2 letters, like ZZ")
    operating = values.get("operating_carrier", "").upper() or carrier
    if operating and not errors.errors.get("marketing_carrier"):
        values["operating_carrier"] = operating
        errors.pattern(values, "operating_carrier", "Operating carrier", r"[A-Z0-9]{2}", "2 letters, like YY")
    flight = errors.pattern(
        values, "flight_number", "Flight number", r"[0-9]{1,4}[A-Z]?", "1 to 4 digits, like 123"
    )
    origin = errors.pattern(values, "origin", "From", r"[A-Z]{3}", "an airport code, like JFK")
    destination = errors.pattern(values, "destination", "To", r"[A-Z]{3}", "an airport code, like LHR")
    departure = errors.iso_date(values, "departure_date", "Departure date")
    klass = errors.pattern(values, "booking_class", "Booking class", r"[A-Z]", "one letter, like Y")
    amount = errors.money(values, "fare_amount", "Fare")
    currency = values.get("fare_currency", "").upper() or None
    if amount is not None and currency is None:
        errors.add("fare_currency", "give the fare's currency, its 3-letter ISO code")
    if errors or departure is None:
        return None
    return FlightCoupon(
        member_number=member_number,
        ticket_number=ticket,
        coupon_number=coupon_number,
        marketing_carrier=carrier,
        operating_carrier=operating,
        flight_number=flight,
        origin=origin,
        destination=destination,
        departure_date=departure,
        booking_class=klass,
        fare_amount=amount,
        fare_currency=currency if amount is not None else None,
    )


@router.post("/claims")
async def post_claim(
    member_number: str, request: Request, session: Annotated[ConsoleSession, Depends(console_session)]
) -> Response:
    values = await read_form(request)
    errors = FieldErrors()
    coupon = _coupon(member_number, values, errors)
    comment = values.get("comment", "")
    if len(comment) > 500:
        errors.add("comment", "a comment is at most 500 characters")
    result: Outcome[ClaimView] | None = None
    status = status_for(InvalidInput)  # the form's own checks refused it
    if coupon is not None and not errors:
        result, status = await _write(
            request,
            errors,
            lambda c: adjustment_requests.file_missing_miles(
                c,
                session.actor,
                desk_owner(session.actor),
                values.get("request_key") or None,
                coupon,
                comment,
            ),
        )
    if result is None:
        return await _panel(
            request,
            "partials/claim_panel.html",
            member_number,
            {"errors": shown(errors.errors, CLAIM_FIELDS), "values": values},
            status,
        )
    return await _panel(
        request, "partials/claim_panel.html", member_number, {"done": result.value}, headers=CHANGED
    )
