"""The in-process dispatcher's drain waits for the jobs that jobs send, not only for those queued at the call."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from miles.adapters.queue import InProcessDispatcher


def test_drain_waits_for_a_job_sent_by_a_running_job_after_the_call() -> None:
    ran: list[str] = []
    started = threading.Event()
    dispatcher: InProcessDispatcher

    def run(task: str, payload: dict[str, Any]) -> None:
        if task == "first":
            started.set()
            time.sleep(0.05)  # drain is called while this job runs
            dispatcher.send("second", {})  # like the last nightly chunk queuing the warnings relay
        else:
            time.sleep(0.2)
            ran.append(task)

    dispatcher = InProcessDispatcher(run, workers=2)
    dispatcher.send("first", {})
    assert started.wait(5)
    dispatcher.drain(timeout=5)
    assert ran == ["second"]
    assert not dispatcher.busy()


def test_drain_follows_a_chain_of_jobs_to_its_end() -> None:
    ran: list[int] = []
    dispatcher: InProcessDispatcher

    def run(task: str, payload: dict[str, Any]) -> None:
        time.sleep(0.01)
        ran.append(payload["n"])
        if payload["n"] < 5:
            dispatcher.send("next", {"n": payload["n"] + 1})

    dispatcher = InProcessDispatcher(run, workers=1)
    dispatcher.send("next", {"n": 0})
    dispatcher.drain(timeout=5)
    assert ran == [0, 1, 2, 3, 4, 5]


def test_drain_gives_up_at_its_timeout_when_a_job_is_still_running() -> None:
    release = threading.Event()
    dispatcher = InProcessDispatcher(lambda task, payload: release.wait(5), workers=1)
    dispatcher.send("slow", {})
    with pytest.raises(TimeoutError):
        dispatcher.drain(timeout=0.1)
    release.set()
    dispatcher.drain(timeout=5)
    assert not dispatcher.busy()
