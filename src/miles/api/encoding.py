"""Mapping use-case results (dataclasses) to JSON responses, explicitly; never ORM rows."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from miles.api.errors import invalid_from_pydantic

M = TypeVar("M", bound=BaseModel)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


_FIELDS: dict[type, tuple[str, ...]] = {}


def plain(view: Any) -> dict[str, Any]:
    """A view's fields as a dict (nested views and lists of views too), without asdict's deep copies."""
    names = _FIELDS.get(type(view))
    if names is None:
        names = _FIELDS[type(view)] = tuple(f.name for f in dataclasses.fields(view))
    return {name: _plain_value(getattr(view, name)) for name in names}


def _plain_value(value: Any) -> Any:
    if isinstance(value, str | int | None):
        return value
    if isinstance(value, list):
        return [_plain_value(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(value)
    return value


def jsonable(body: Any) -> Any:
    """The body as JSON types only (for storing a response to replay it)."""
    return json.loads(json.dumps(body, default=_default))


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, default=_default, separators=(",", ":"))
    return Response(content, status_code=status_code, media_type="application/json", headers=headers)


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise invalid_from_pydantic(list(exc.errors())) from exc


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a route that reads its body itself (so that authentication comes first)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    }
