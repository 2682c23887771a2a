"""Promotions: create, list, read, end, register members; a member's promotions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from miles.api.deps import container, key_owner, require
from miles.api.encoding import body_doc, json_response, jsonable, parse_body, plain
from miles.api.fields import IdempotencyKey
from miles.api.promotion_schemas import PromotionRequest, RegistrationRequest
from miles.domain.agents import Actor
from miles.services.apikeys import Principal
from miles.services.idempotency import keyed_request
from miles.services.promotions import campaigns

router = APIRouter(prefix="/v1/promotions", tags=["promotions"])
members = APIRouter(prefix="/v1/members", tags=["promotions"])


def _actor(principal: Principal) -> Actor:
    return Actor(name=f"api:{principal.key_name}")


@router.post("", status_code=201, openapi_extra=body_doc(PromotionRequest), summary="Create a promotion")
async def create(
    request: Request,
    principal: Annotated[Principal, Depends(require("promotion:write"))],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    body = await parse_body(request, PromotionRequest)
    document = body.document()
    key = keyed_request(key_owner(principal), campaigns.CREATE, idempotency_key, document)
    outcome = await run_in_threadpool(
        campaigns.create_promotion, container(request), _actor(principal), key, body.promotion(), document
    )
    return json_response(jsonable(plain(outcome.value)), 200 if outcome.replayed else 201)


@router.get("", dependencies=[Depends(require("member:read"))], summary="The promotions, newest first")
async def listing(request: Request) -> Response:
    views = await run_in_threadpool(campaigns.list_promotions, container(request))
    return json_response(jsonable({"promotions": [plain(v) for v in views]}))


@router.get("/{code}", dependencies=[Depends(require("member:read"))], summary="A promotion and its figures")
async def read(code: str, request: Request) -> Response:
    view = await run_in_threadpool(campaigns.read_promotion, container(request), code)
    return json_response(jsonable(plain(view)))


@router.post("/{code}/end", summary="End a promotion from now on")
async def end(
    code: str, request: Request, principal: Annotated[Principal, Depends(require("promotion:write"))]
) -> Response:
    view = await run_in_threadpool(campaigns.end_promotion, container(request), _actor(principal), code)
    return json_response(jsonable(plain(view)))


@router.post(
    "/{code}/registrations",
    status_code=201,
    openapi_extra=body_doc(RegistrationRequest),
    summary="Register a member for a promotion",
)
async def register(
    code: str, request: Request, principal: Annotated[Principal, Depends(require("member:write"))]
) -> Response:
    body = await parse_body(request, RegistrationRequest)
    outcome = await run_in_threadpool(
        campaigns.register_member, container(request), _actor(principal), code, body.member_number
    )
    return json_response(jsonable(plain(outcome.value)), 200 if outcome.replayed else 201)


@members.get(
    "/{member_number}/promotions",
    dependencies=[Depends(require("member:read"))],
    summary="A member's promotions: registrations and challenge progress",
)
async def of_member(member_number: str, request: Request) -> Response:
    view = await run_in_threadpool(campaigns.member_promotions, container(request), member_number)
    return json_response(jsonable(plain(view)))
