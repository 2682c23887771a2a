"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from miles.console.forms import read_form
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import SECURITY_HEADERS, render
from miles.console.security import (
    SIGN_IN_COOKIE,
    clear_session_cookie,
    console_session,
    new_sign_in_token,
    safe_next,
    set_session_cookie,
    set_sign_in_cookie,
    sign_in_token_valid,
    take_hash_slot,
)
from miles.console.state import app_container, console_state, in_thread
from miles.domain.errors import Forbidden, InvalidInput, Unauthorized
from miles.http_errors import status_of
from miles.services.agents import ConsoleSession, sign_out
from miles.services.passwords import HASH_SLOTS
from miles.services.sign_in import sign_in

BUSY = "The console is busy signing other agents in. Nothing was checked: please sign in again in a moment."
BUSY_RETRY_SECONDS = 1
EXPIRED = Forbidden("The sign-in form expired. Nothing was sent: please sign in again.", code="form_expired")
# a sign-in refused for load or for too many tries (Retry-After says when): not a refusal of the error
# tree, whose statuses come from the shared mapping (miles.http_errors)
TOO_MANY_REQUESTS = 429

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsolePageRoute)


@router.get("")
@router.get("/")
async def home() -> Response:
    return RedirectResponse("/console/members", status_code=303, headers=SECURITY_HEADERS)


async def _sign_in_page(
    request: Request,
    next_path: str,
    name: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    retry_after_seconds: int | None = None,
) -> Response:
    secret = await run_in_threadpool(console_state(request).secret, app_container(request))
    nonce, token = new_sign_in_token(request, secret)
    response = render(
        request,
        "sign_in.html",
        {"sign_in_token": token, "next": next_path, "values": {"name": name}, "errors": errors or {}},
        status_code=status_code,
    )
    set_sign_in_cookie(request, response, nonce)
    if retry_after_seconds is not None:
        response.headers["Retry-After"] = str(retry_after_seconds)
    return response


@router.get("/sign-in")
async def sign_in_form(
    request: Request, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    return await _sign_in_page(request, safe_next(next))


@router.post("/sign-in")
async def sign_in_submit(request: Request) -> Response:
    values = await read_form(request)
    next_path = safe_next(values.get("next"))
    name = values.get("name", "")[:100]
    state = console_state(request)
    c = app_container(request)
    secret = await run_in_threadpool(state.secret, c)
    if not sign_in_token_valid(request, secret, values.get("sign_in_token")):
        return await _sign_in_page(request, next_path, name, {"form": EXPIRED.message}, status_of(EXPIRED))
    missing = [
        InvalidInput(f"Your {field} is required", field=field)
        for field in ("name", "password")
        if not values.get(field)
    ]
    if missing:
        errors = {p.field or "form": p.message for p in missing}
        return await _sign_in_page(request, next_path, name, errors, status_of(missing[0]))
    # the peer as uvicorn resolved it: a proxy's X-Forwarded-For counts only from MILES_TRUSTED_PROXIES
    address = request.client.host if request.client else "unknown"
    if not await take_hash_slot(HASH_SLOTS):
        busy = {"form": BUSY}
        return await _sign_in_page(request, next_path, name, busy, TOO_MANY_REQUESTS, BUSY_RETRY_SECONDS)
    try:
        result = await run_in_threadpool(
            sign_in, c.uow, c.clock, name, values["password"], address, lifetime=state.session_lifetime
        )
    finally:
        HASH_SLOTS.give_back()
    if result.token is None:
        wait = result.retry_after
        refused = Unauthorized(result.error or "not signed in")
        return await _sign_in_page(
            request,
            next_path,
            name,
            {"form": refused.message},
            TOO_MANY_REQUESTS if result.throttled else status_of(refused),
            None if wait is None else max(1, int(wait.total_seconds())),
        )
    response = RedirectResponse(next_path, status_code=303, headers=SECURITY_HEADERS)
    set_session_cookie(request, response, result.token, secret)
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
async def sign_out_submit(request: Request, session: ConsoleSession = Depends(console_session)) -> Response:
    await in_thread(request, lambda c: sign_out(c, session))
    response = RedirectResponse("/console/sign-in", status_code=303, headers=SECURITY_HEADERS)
    clear_session_cookie(response)
    return response
