"""`/docs`: Swagger UI from files vendored in `static/` (no CDN: many airlines' networks reach none),
reading the API's own `/openapi.json`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>miles API</title>
  <link rel="icon" type="image/png" href="/docs/static/favicon.png">
  <link rel="stylesheet" href="/docs/static/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/static/swagger-ui-bundle.js"></script>
  <script src="/docs/static/docs.js"></script>
</body>
</html>
"""
HEADERS = {
    # Swagger UI sets style attributes; every script is a file served from here
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def docs() -> HTMLResponse:
    return HTMLResponse(PAGE, headers=HEADERS)


def install(app: FastAPI) -> None:
    app.mount("/docs/static", StaticFiles(directory=STATIC), name="docs-static")
    app.include_router(router)
