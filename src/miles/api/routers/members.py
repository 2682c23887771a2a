"""Members: enrol, read, statement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.api.deps import caller, container, key_owner, require
from miles.api.encoding import body_doc, json_response, jsonable, parse_body, plain
from miles.api.fields import IdempotencyKey, Line, StatementDay
from miles.api.schemas import NewMemberRequest, TierGrantRequest
from miles.bootstrap import Container
from miles.domain.agents import Actor
from miles.domain.errors import InvalidInput
from miles.services import members as member_service
from miles.services.apikeys import Principal
from miles.services.idempotency import keyed_request
from miles.services.statements import statement
from miles.services.tier_grants import TierGrant, grant_tier

router = APIRouter(prefix="/v1/members", tags=["members"])


@router.post(
    "",
    status_code=201,
    dependencies=[Depends(require("member:write"))],
    openapi_extra=body_doc(NewMemberRequest),
    summary="Enrol a member",
)
async def enrol(
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    body = await parse_body(request, NewMemberRequest)
    c: Container = container(request)
    new = member_service.NewMember(body.given_name, body.family_name, body.email, body.birth_date)
    key = keyed_request(
        key_owner(caller(request)), "member.create", idempotency_key, body.model_dump(mode="json")
    )
    outcome = await run_in_threadpool(member_service.enrol_once, c, new, key)
    return json_response(jsonable(plain(outcome.value)), 200 if outcome.replayed else 201)


@router.get("/{member_number}", dependencies=[Depends(require("member:read"))], summary="A member's summary")
async def read(member_number: str, request: Request) -> Response:
    view, segment = await run_in_threadpool(member_service.member_read, container(request), member_number)
    return json_response(plain(view) | plain(segment))


@router.post("/{member_number}/tier", openapi_extra=body_doc(TierGrantRequest), summary="Grant a tier")
async def grant(
    member_number: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("admin"))],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    body = await parse_body(request, TierGrantRequest)
    grant = TierGrant(member_number, body.tier, body.reason, body.valid_until, body.comment)
    actor = Actor(name=f"api:{principal.key_name}")
    outcome = await run_in_threadpool(
        grant_tier, container(request), actor, key_owner(principal), idempotency_key, grant
    )
    return json_response(jsonable(plain(outcome.value)))


@router.get(
    "/{member_number}/statement",
    dependencies=[Depends(require("member:read"))],
    summary="Transfers on the member's award account, newest first",
)
async def member_statement(
    member_number: str,
    request: Request,
    from_: Annotated[StatementDay, Query(alias="from", description="the first day (YYYY-MM-DD)")] = None,
    to: Annotated[StatementDay, Query(description="the last day, included (YYYY-MM-DD)")] = None,
    cursor: Annotated[
        Line | None, Query(max_length=200, description="`next_cursor` of the page before")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    if from_ and to and to < from_:
        raise InvalidInput("to is before from", field="to")
    page = await run_in_threadpool(statement, container(request), member_number, from_, to, cursor, limit)
    return json_response(
        {
            "member_number": page.member_number,
            "transfers": [plain(line) for line in page.lines],
            "next_cursor": page.next_cursor,
        }
    )
