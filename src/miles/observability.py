"""Structured JSON logs with a request id that follows a request into the jobs it causes."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id: ContextVar[str | None] = ContextVar("miles_request_id", default=None)

_SECRET = re.compile(r"(mk_[0-9a-f]{12}_)[A-Za-z0-9_\-]+|(://[^:/@\s]+:)[^@\s]+@")
# uvicorn's `color_message` repeats the message with ANSI colour escapes: never in a JSON line
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def redact(text: str) -> str:
    """API key secrets and passwords in URLs never reach a log line."""
    return _SECRET.sub(lambda m: (m.group(1) + "***") if m.group(1) else (m.group(2) + "***@"), text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "request_id" and not key.startswith("_"):
                entry[key] = (
                    value if isinstance(value, int | float | bool | type(None)) else redact(str(value))
                )
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, separators=(",", ":"))


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for every logger (ours, uvicorn's, celery's)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "celery", "celery.app.trace"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


# `miles serve`'s logging: JSON lines on stderr at MILES_LOG_LEVEL (uvicorn's own loggers are set to it by
# uvicorn; this sets everyone else's, miles.access included). uvicorn's access log is off: miles.access
# writes one line per request (miles.api.middleware).
UVICORN_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "miles.observability.JsonFormatter"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    },
    "root": {"handlers": ["stderr"], "level": os.environ.get("MILES_LOG_LEVEL", "info").upper()},
    "loggers": {
        "uvicorn": {"handlers": [], "propagate": True},
        "uvicorn.error": {"handlers": [], "propagate": True},
        "uvicorn.access": {"handlers": [], "propagate": False},
    },
}
