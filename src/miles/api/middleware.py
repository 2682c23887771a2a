"""ASGI middleware: request size limit, request id, latency histogram, one access-log line per request."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from miles.api.metrics import REQUESTS
from miles.observability import request_id as current_request_id

access_log = logging.getLogger("miles.access")

PATH_MAX = 300  # characters of a path an access-log line keeps
DISCONNECTED = 499  # the status logged (never sent) for a client that left before sending its whole body


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:100] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)
        status = {"code": 500}
        limit = self.max_body_bytes
        declared = headers.get(b"content-length")
        too_large = declared is not None and declared.isdigit() and int(declared) > limit
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if too_large:
                raise HTTPException(413, f"the request body is over {limit} bytes")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the request body is over {limit} bytes")
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except ClientDisconnect:
            # the client went away before sending its whole body: nobody to answer, nothing to fix
            status["code"] = DISCONNECTED
        finally:
            seconds = time.perf_counter() - started
            route: Any = scope.get("route")
            path = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], path, str(status["code"])).observe(seconds)
            _log_access(scope, status["code"], seconds, request_id, received)
            current_request_id.reset(token)


def _log_access(scope: Scope, status: int, seconds: float, request_id: str, received: int) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    method, path = scope["method"], scope["path"][:PATH_MAX]
    client = scope.get("client")
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "request_id": request_id,
        "client": client[0] if client else None,
    }
    if status == DISCONNECTED:
        fields["received_bytes"] = received
        message = f"{method} {path}: the client disconnected before sending its whole body"
    else:
        message = f"{method} {path} {status}"
    access_log.info(message, extra=fields)
