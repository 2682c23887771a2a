"""Errors as the API answers them: the {"error": {...}} body, with the status the one mapping
(miles.http_errors) gives each error of the tree; and the statuses of what is not in the tree."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from miles.domain.errors import InvalidInput, MilesError, Unauthorized
from miles.http_errors import STATUS as STATUS
from miles.http_errors import retry_after, status_of

log = logging.getLogger("miles.api")


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return {"error": body}


def error_response(error: MilesError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
    wait = retry_after(error)
    if wait is not None:
        headers = {"Retry-After": wait}
    return JSONResponse({"error": error.as_dict()}, status_code=status_of(error), headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or None


def invalid_from_pydantic(errors: list[Any], prefix: tuple[Any, ...] = ()) -> InvalidInput:
    """The first problem pydantic found, as an InvalidInput naming its field."""
    extra = [e for e in errors if e.get("type") == "extra_forbidden"]
    first = extra[0] if extra else errors[0]
    loc = (*prefix, *first.get("loc", ()))
    kind = first.get("type", "")
    field = field_path(loc)
    if kind == "json_invalid":
        return InvalidInput(f"the body is not valid JSON: {first.get('msg')}", code="invalid_json")
    if kind == "extra_forbidden":
        return InvalidInput(f"unknown field {field!r}", field=field, code="unknown_field")
    if kind == "missing":
        return InvalidInput(f"{field} is required", field=field, code="missing_field")
    return InvalidInput(f"{field}: {first.get('msg')}", field=field)


def install(app: FastAPI) -> None:
    @app.exception_handler(MilesError)
    async def _miles(_: Request, exc: MilesError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(invalid_from_pydantic(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _pydantic(_: Request, exc: ValidationError) -> JSONResponse:
        return error_response(invalid_from_pydantic(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
        return JSONResponse(
            error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("constraint refused a write: %s", exc.orig)
        return JSONResponse(
            error_body("constraint_violation", "the ledger refused this write; nothing was recorded"),
            status_code=409,
        )

    @app.exception_handler(OperationalError)
    async def _unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc.orig)
        return JSONResponse(
            error_body("unavailable", "the database is unavailable; retry with the same request"),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(DBAPIError)
    async def _dbapi(_: Request, exc: DBAPIError) -> JSONResponse:
        log.exception("database error", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "internal error; nothing was recorded"), status_code=500
        )

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        """A bug: logged with its traceback, answered in the error body (never Starlette's plain text)."""
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500)
