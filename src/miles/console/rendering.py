"""Jinja2 templates (autoescaped: a member named <script> is shown as text) and the headers every
console page carries."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader

from miles.services.audit import describe_action

TEMPLATES = Path(__file__).parent / "templates"

SECURITY_HEADERS = {
    # no inline script or style runs, whatever a member's name holds; htmx is served from here
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _miles(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _signed(value: int) -> str:
    return f"+{value:,}" if value > 0 else f"{value:,}".replace("-", "\u2212")


def _when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _day(value: datetime | date | None) -> str:
    if value is None:
        return ""
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(miles=_miles, signed=_signed, when=_when, day=_day, action=describe_action)
    return env


ENV = _environment()


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    session = getattr(request.state, "console_session", None)
    values: dict[str, Any] = {
        "session": session,
        "actor": session.actor if session else None,
        "csrf_token": session.csrf_token if session else "",
        "path": request.url.path,
        "errors": {},
        "values": {},
    }
    values.update(context or {})
    html = ENV.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def back_to_member(member_number: str) -> RedirectResponse:
    """Where a form of the member page posted without htmx goes once it worked: the member's page."""
    return RedirectResponse(f"/console/members/{member_number}", status_code=303, headers=SECURITY_HEADERS)


def member_panel(
    request: Request,
    panel: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A panel of the member page: alone for htmx, else inside the form page (a form posted without
    JavaScript and refused shows its panel with the reasons)."""
    if not is_htmx(request):
        return render(request, "form_page.html", context | {"panel": panel}, status_code)
    return render(request, panel, context, status_code, headers)
