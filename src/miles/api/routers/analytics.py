"""Analytics: retention segment sizes by night."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.api.deps import container, only_query, require
from miles.api.encoding import json_response, plain
from miles.api.fields import QueryDay
from miles.services.segments import segment_counts

router = APIRouter(
    prefix="/v1/analytics", tags=["analytics"], dependencies=[Depends(require("analytics:read"))]
)


@router.get(
    "/segments",
    summary="Members by retention segment and flag on a night",
    dependencies=[Depends(only_query("date"))],
)
async def segments(
    request: Request,
    day: Annotated[QueryDay, Query(alias="date", description="YYYY-MM-DD: the latest night on or before it")],
) -> Response:
    view = await run_in_threadpool(segment_counts, container(request), day)
    return json_response(plain(view))
