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
from miles.domain.errors import InvalidInput

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


NOT_AN_OBJECT = ("model_type", "model_attributes_type", "dict_type")


def invalid_body(errors: list[Any], where: str = "the body") -> InvalidInput:
    """What pydantic found wrong with a body (or a batch item): a body that is not a JSON object at all
    (`[1,2]`, `"x"`, nothing) says so; anything else names its field."""
    root = [e for e in errors if not e.get("loc")]
    if root and root[0].get("type") in NOT_AN_OBJECT:
        return InvalidInput(f"{where} must be a JSON object", code="not_an_object")
    return invalid_from_pydantic(errors)


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise invalid_body(list(exc.errors())) from exc


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a route that reads its body itself (so that authentication comes first)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
        }
    }
