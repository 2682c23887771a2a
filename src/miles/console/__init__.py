"""The agents' web console: server-rendered pages (Jinja2 + htmx, vendored) under /console."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the console's pages and static files on the application `miles serve` runs."""
    from fastapi.staticfiles import StaticFiles

    from miles.console import (
        auth_pages,
        award_pages,
        claim_approval_pages,
        complaint_pages,
        member_pages,
        retention_pages,
        service_pages,
        supervisor_pages,
    )
    from miles.console.analytics import pages as analytics_pages
    from miles.console.finance import pages as finance_pages
    from miles.console.promotions import pages as promotion_pages
    from miles.console.security import install_handlers
    from miles.console.state import ConsoleState

    app.state.console = ConsoleState.from_settings()
    install_handlers(app)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for module in (
        auth_pages,
        member_pages,
        service_pages,
        award_pages,
        supervisor_pages,
        claim_approval_pages,
        promotion_pages,
        finance_pages,
        complaint_pages,
        retention_pages,
        analytics_pages,
    ):
        app.include_router(module.router)
