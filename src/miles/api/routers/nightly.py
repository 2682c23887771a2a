"""The nightly run's report (scope `member:read`): what the night of a date did, or is doing."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.api.deps import container, require
from miles.api.encoding import json_response, plain
from miles.services.nightly.report import run_report

router = APIRouter(prefix="/v1/nightly-runs", tags=["operations"])


@router.get(
    "/{run_date}",
    dependencies=[Depends(require("member:read"))],
    summary="The report of the nightly run of a date (scope member:read)",
    description=(
        "Members kept / up / down, lifetime grants, miles expired, warnings queued and time per phase of "
        "the nightly run of `run_date` (YYYY-MM-DD) of the programme in force; `status` is `running` "
        "until its last chunk is done. 404 `nightly_run_not_found` when that night has not run. "
        "It holds counts, no member's data: the key needs the `member:read` scope (or `admin`)."
    ),
)
async def nightly_run(run_date: date, request: Request) -> Response:
    return json_response(plain(await run_in_threadpool(run_report, container(request), run_date)))
