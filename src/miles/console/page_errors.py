"""A refusal from the error tree as a console error page: the status and title from the one mapping the
API uses too (miles.http_errors), the error's own message below. Every console router is built with
`ConsolePageRoute`, so a page lets a MilesError it does not show on its form rise, and the visitor gets
this page (never the API's JSON body)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from miles.console.security import PageError
from miles.domain.errors import MilesError
from miles.http_errors import status_of, title_of


def page_error(error: MilesError) -> PageError:
    return PageError(status_of(error), title_of(error), error.message)


class ConsolePageRoute(APIRoute):
    """A console route: a MilesError out of the page (or one of its dependencies) becomes the error page
    with the shared mapping's status and title."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except MilesError as exc:
                raise page_error(exc) from exc

        return page
