"""What the routes need: the unit-of-work factory, the programme catalog, the clock, key checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from miles.bootstrap import Container
from miles.domain.errors import InvalidInput
from miles.services.apikeys import Principal


def container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


def require(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits a request whose bearer key carries `scope`."""

    async def check(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        keys = container(request).keys
        principal = keys.verify_cached(token)  # no thread hop when the key was seen lately
        if principal is None:
            principal = await run_in_threadpool(keys.verify, token)
        principal.require(scope)
        request.state.principal = principal  # the caller, for the route's body (owner of its keys)
        return principal

    check.__name__ = f"require_{scope.replace(':', '_')}"
    return check


def caller(request: Request) -> Principal:
    """The API key that authorised this request (set by `require`, which every /v1 route depends on)."""
    return request.state.principal  # type: ignore[no-any-return]


def key_owner(principal: Principal) -> str:
    """Whose idempotency keys a request's are: its API key's."""
    return f"apikey:{principal.key_prefix}"


def only_query(*names: str) -> Callable[[Request], None]:
    """A route's query parameters are `names` and nothing else: any other is a 422 naming it (a typo such as
    `?form=` would otherwise be ignored and the report answered for the default range)."""
    allowed = frozenset(names)

    def check(request: Request) -> None:
        for name in request.query_params:
            if name not in allowed:
                raise InvalidInput(
                    f"unknown query parameter {name[:40]!r}: this route takes {', '.join(sorted(allowed))}",
                    field=name[:40],
                    code="unknown_parameter",
                )

    return check
