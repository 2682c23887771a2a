"""Logs are JSON lines with the request id, and never carry secrets."""

from __future__ import annotations

import json
import logging

from miles.observability import JsonFormatter, redact, request_id


def _line(message: str, *args: object) -> dict[str, object]:
    record = logging.LogRecord("miles.test", logging.INFO, __file__, 1, message, args, None)
    return dict(json.loads(JsonFormatter().format(record)))


def test_a_log_line_is_json_with_the_current_request_id() -> None:
    token = request_id.set("req-123")
    try:
        line = _line("accrued %s", "1000000016")
    finally:
        request_id.reset(token)
    assert line["message"] == "accrued 1000000016"
    assert line["request_id"] == "req-123"
    assert line["level"] == "info"


def test_api_key_secrets_and_url_passwords_are_redacted() -> None:
    key = "mk_0123456789ab_SECRETsecretSECRETsecret-_x"
    assert "SECRET" not in redact(f"bad key {key}")
    assert "mk_0123456789ab_***" in redact(f"bad key {key}")
    assert "hunter2" not in _line("connecting to %s", "postgresql://miles:hunter2@db:5432/miles")["message"]


def test_uvicorns_coloured_copy_of_a_message_never_reaches_a_json_line() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, "Started server process [%d]", (7,), None
    )
    record.color_message = "Started server process [\x1b[36m%d\x1b[0m]"
    line = JsonFormatter().format(record)
    assert "color_message" not in line
    assert "\\u001b" not in line
    assert json.loads(line)["message"] == "Started server process [7]"
