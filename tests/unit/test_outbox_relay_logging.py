"""The outbox relay run after a commit: a broker outage is one warning line (every write request would
log it), anything else is a bug and is logged with its traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis

import miles.services.outbox
from miles.bootstrap import Container, build_container


@pytest.fixture
def container() -> Iterator[Container]:
    c = build_container("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected to here
    yield c
    c.engine.dispose()


def failing_relay(error: Exception) -> Any:
    def relay(*_: Any, **__: Any) -> int:
        raise error

    return relay


def relay_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "miles.bootstrap"]


def test_a_bug_in_the_relay_after_commit_is_logged_with_its_traceback(
    container: Container, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(miles.services.outbox, "relay", failing_relay(TypeError("relay() got 3 arguments")))
    with caplog.at_level(logging.WARNING, logger="miles.bootstrap"):
        container.relay_outbox()  # the request has committed: it still answers
    [record] = relay_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is TypeError


def test_a_broker_outage_is_one_line_without_a_traceback(
    container: Container, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    outage = redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    monkeypatch.setattr(miles.services.outbox, "relay", failing_relay(outage))
    with caplog.at_level(logging.WARNING, logger="miles.bootstrap"):
        container.relay_outbox()
    [record] = relay_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert "ConnectionError" in record.getMessage()
