"""Sessions and CSRF for the console.

The session cookie holds a random token, signed with the console secret (itsdangerous) and valid for a
shift; the database holds the token's hash, its expiry and the session's CSRF token, so signing out
ends it everywhere. Every state-changing request must carry that CSRF token (a hidden form field, or
the X-CSRF-Token header that htmx sends); the sign-in form, before any session, carries a signed
double-submit token instead. Pages need a session; supervisor, manager and finance pages refuse the
others (Forbidden: the console routes give it the shared mapping's status, see miles.console.page_errors)."""

from __future__ import annotations

import asyncio
import secrets
import time
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from miles.console.rendering import SECURITY_HEADERS, is_htmx, render
from miles.console.state import app_container, console_state
from miles.domain.errors import Forbidden
from miles.services.agents import ConsoleSession, csrf_matches, resolve_session
from miles.services.passwords import HashSlots

SESSION_COOKIE = "miles_session"
SIGN_IN_COOKIE = "miles_sign_in"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SIGN_IN_FORM_AGE = 3600
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
HASH_SLOT_WAIT = 0.5  # seconds a sign-in waits for a free hash slot before it is refused as busy


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class PageError(Exception):
    """Ends a console request with an HTML error page."""

    def __init__(self, status_code: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.title = title
        self.message = message


def _secret(request: Request) -> str:
    return console_state(request).secret(app_container(request))


def _session_signer(secret: str) -> TimestampSigner:
    return TimestampSigner(secret, salt="miles.console.session")


def _sign_in_serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="miles.console.sign-in")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def safe_next(value: str | None) -> str:
    """Only a console path: never an open redirect to elsewhere."""
    if value and value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/members"


async def form_value(request: Request, name: str) -> str | None:
    content_type = request.headers.get("content-type", "")
    if "form" not in content_type:
        return None
    form = await request.form()
    value = form.get(name)
    return value if isinstance(value, str) else None


# --- the signed-in session --------------------------------------------------------------------------


async def console_session(request: Request) -> ConsoleSession:
    """The agent's live session (or a redirect to sign in); checks CSRF on state-changing requests."""
    raw = request.cookies.get(SESSION_COOKIE)
    state = console_state(request)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not raw:
        raise SignInRequired(path)

    def resolve() -> ConsoleSession | None:
        secret = _secret(request)
        try:
            token = _session_signer(secret).unsign(raw, max_age=int(state.session_lifetime.total_seconds()))
        except (BadSignature, SignatureExpired):
            return None
        return resolve_session(app_container(request), token.decode())

    session = await run_in_threadpool(resolve)
    if session is None:
        raise SignInRequired(path)
    request.state.console_session = session
    if request.method in UNSAFE:
        candidate = request.headers.get(CSRF_HEADER) or await form_value(request, CSRF_FIELD)
        if not csrf_matches(session, candidate):
            raise Forbidden(
                "This form was not sent from your current console session (it may be from before you "
                "signed in again). Nothing was changed: reload the page and try again.",
                code="form_expired",
            )
    return session


async def manager_session(session: ConsoleSession = Depends(console_session)) -> ConsoleSession:
    if not session.actor.is_manager:
        raise Forbidden("This page is for the loyalty team's managers.", code="managers_only")
    return session


async def finance_session(session: ConsoleSession = Depends(console_session)) -> ConsoleSession:
    if not session.actor.is_finance:
        raise Forbidden("This page is for finance.", code="finance_only")
    return session


async def supervisor_session(session: ConsoleSession = Depends(console_session)) -> ConsoleSession:
    if not session.actor.is_supervisor:
        raise Forbidden("This page is for supervisors.", code="supervisors_only")
    return session


def set_session_cookie(request: Request, response: Response, token: str, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        _session_signer(secret).sign(token).decode(),
        max_age=int(console_state(request).session_lifetime.total_seconds()),
        path="/console",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/console")


# --- the sign-in form (no session yet): a signed double-submit token --------------------------------


def new_sign_in_token(request: Request, secret: str) -> tuple[str, str]:
    """(cookie nonce, form token)."""
    nonce = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
    return nonce, str(_sign_in_serializer(secret).dumps(nonce))


def set_sign_in_cookie(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        max_age=SIGN_IN_FORM_AGE,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def sign_in_token_valid(request: Request, secret: str, token: str | None) -> bool:
    nonce = request.cookies.get(SIGN_IN_COOKIE)
    if not nonce or not token:
        return False
    try:
        return bool(_sign_in_serializer(secret).loads(token, max_age=SIGN_IN_FORM_AGE) == nonce)
    except (BadSignature, SignatureExpired):
        return False


async def take_hash_slot(slots: HashSlots, wait: float = HASH_SLOT_WAIT) -> bool:
    """A hash slot within `wait` seconds, or False; waits on the event loop, holding no thread."""
    deadline = time.monotonic() + wait
    while not slots.try_take():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


# --- turning the exceptions above into pages ------------------------------------------------------


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        target = f"/console/sign-in?next={quote(safe_next(exc.next_path), safe='/')}"
        if is_htmx(request):  # htmx follows this header with a full page load
            return Response(status_code=200, headers={"HX-Redirect": target, **SECURITY_HEADERS})
        response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
        clear_session_cookie(response)
        return response

    @app.exception_handler(PageError)
    async def _page(request: Request, exc: PageError) -> Response:
        template = "partials/error.html" if is_htmx(request) else "error.html"
        return render(
            request, template, {"title": exc.title, "message": exc.message}, status_code=exc.status_code
        )
