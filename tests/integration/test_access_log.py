"""What `miles serve` writes to its log: one JSON access line per request (method, path, status,
duration_ms, request id), no ANSI escapes anywhere, and a client that disconnects mid-body is one info
line, not an error with a traceback (200 such clients once wrote 200 tracebacks). Through a real server."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import httpx

from miles.bootstrap import Container
from tests.integration.conftest import make_key
from tests.integration.served import Served, served

PARTIAL_BODIES = 20


def test_every_request_writes_one_json_access_line_with_its_status_duration_and_request_id(
    database_url: str, container: Container, tmp_path: Path
) -> None:
    key = make_key(container, ["member:read", "member:write"])
    with (
        served(database_url, tmp_path, log_level="info") as server,
        httpx.Client(base_url=server.base, timeout=30) as api,
    ):
        assert api.get("/healthz", headers={"X-Request-ID": "access-1"}).status_code == 200
        created = api.post(
            "/v1/members",
            json={"given_name": "Ada", "family_name": "Lovelace", "email": "a@b.example"},
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": "access-2"},
        )
        assert created.status_code == 201
        refused = api.get("/v1/members/1000000016", headers={"X-Request-ID": "access-3"})
        assert refused.status_code == 401
        lines = _access_lines(server, "access-", 3)
    raw = server.log_text()
    assert "\x1b" not in raw
    assert "\\u001b" not in raw  # nor escaped into the JSON (uvicorn's color_message)
    by_id = {line["request_id"]: line for line in lines}
    assert {k: by_id["access-1"][k] for k in ("method", "path", "status")} == {
        "method": "GET",
        "path": "/healthz",
        "status": 200,
    }
    assert (by_id["access-2"]["method"], by_id["access-2"]["path"], by_id["access-2"]["status"]) == (
        "POST",
        "/v1/members",
        201,
    )
    assert by_id["access-3"]["status"] == 401
    for line in by_id.values():
        assert line["level"] == "info"
        assert isinstance(line["duration_ms"], int | float)
        assert 0 <= line["duration_ms"] < 30_000
        assert "mk_" not in str(line)  # the key never reaches a log line


def test_clients_that_disconnect_mid_body_are_one_info_line_each_and_no_traceback(
    database_url: str, container: Container, tmp_path: Path
) -> None:
    key = make_key(container, ["member:write", "accrual:write", "redemption:write"])
    paths = ["/v1/accruals/flights", "/v1/members", "/v1/redemptions", "/v1/accruals/flights/batch"]
    with served(database_url, tmp_path, log_level="info") as server:
        port = int(server.base.rsplit(":", 1)[1])
        for n in range(PARTIAL_BODIES):
            _send_partial_body(port, paths[n % len(paths)], key, f"gone-{n}")
        lines = _access_lines(server, "gone-", PARTIAL_BODIES)
        with httpx.Client(base_url=server.base, timeout=10) as api:
            assert api.get("/healthz").status_code == 200  # the server is none the worse
    everything = server.log_lines()
    assert not [line for line in everything if line["level"] in ("error", "critical")], everything
    assert "Traceback" not in server.log_text()
    gone = lines
    assert len(gone) == PARTIAL_BODIES
    assert {line["request_id"] for line in gone} == {f"gone-{n}" for n in range(PARTIAL_BODIES)}
    for line in gone:
        assert line["level"] == "info"
        assert line["status"] == 499
        assert "disconnected" in line["message"]
        assert 0 <= line["received_bytes"] <= len(_PARTIAL)


_PARTIAL = b'{"member_number": "10000'


def _send_partial_body(port: int, path: str, key: str, request_id: str) -> None:
    """A request announcing 5,000 bytes of body, sending 24 of them, and closing its connection."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: 5000\r\nIdempotency-Key: {request_id}\r\n"
        f"X-Request-ID: {request_id}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode() + _PARTIAL)
        time.sleep(0.05)  # the server is reading the body when the client leaves


def _access_lines(server: Served, prefix: str, at_least: int, timeout: float = 15) -> list[dict[str, Any]]:
    """The access lines in the server's log of the requests whose id starts with `prefix`, once there are
    `at_least` of them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [
            line
            for line in server.log_lines()
            if line.get("logger") == "miles.access" and line.get("request_id", "").startswith(prefix)
        ]
        if len(lines) >= at_least or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)
