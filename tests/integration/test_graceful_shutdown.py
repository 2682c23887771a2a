"""Graceful shutdown of each role under load, measured: SIGTERM to the role's process alone, as the kubelet
(after the API's preStop) and compose send it. The API drains the requests in flight; a worker finishes the
chunks in hand and leaves the queued ones to the next worker; beat stops at once. Nothing is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine, text

from miles.bootstrap import Container, build_container
from miles.cli.serve import DRAIN_SECONDS
from miles.services.clock import FixedClock
from miles.services.nightly.config import NightlyConfig
from miles.services.nightly.report import report_of_run
from miles.services.nightly.runs import CHUNK_JOB, start_run
from tests.integration.conftest import free_port, make_key, wait_healthy
from tests.integration.factories import coupon
from tests.integration.nightly_data import random_specs, seed
from tests.integration.workers import redis_server, stop_with_sigterm
from workers.app import make_celery

LOAD_THREADS = 8
BATCH_ITEMS = 8000  # one batch request that takes a few seconds: in flight at SIGTERM
NIGHT = date(2028, 3, 1)
CHUNK_SIZE = 20
CHUNKS = 6
CHUNK_DELAY_SECONDS = 3.0  # the test hook: each chunk waits this long before its commit


def started(command: list[str], log: Path, **settings: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MILES_LOG_LEVEL": "info"} | {f"MILES_{k.upper()}": v for k, v in settings.items()}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "miles.cli", *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The test's processes; whatever is still running after it is killed with its children."""
    running: list[subprocess.Popen[bytes]] = []
    yield running
    for process in running:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, details: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {details()}"
        time.sleep(0.05)


# --- the API -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    kind: str  # "member" or "accrual"
    key: str  # the member's e-mail, or the accrual's ticket number
    sent: float  # monotonic, before the request was written
    outcome: str  # the HTTP status, or the transport error's class


REFUSED = "ConnectError"  # connection refused: nothing listens any more
CLOSED = {"RemoteProtocolError", "ReadError"}  # an idle keep-alive connection closed before it was read


def load(
    base: str, key: str, number: int, stop: threading.Event, calls: list[Call], busy: dict[int, float]
) -> None:
    """Enrol a member, then credit it a flight; again, until told to stop. `busy` holds when the request
    in flight was sent."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        i = 0
        member = None
        while not stop.is_set():
            i += 1
            if member is None:
                kind, ident = "member", f"load-{number}-{i}@shutdown.example"
                path, body = (
                    "/v1/members",
                    {"given_name": "L", "family_name": f"{number}-{i}", "email": ident},
                )
            else:
                body = coupon(member)
                kind, ident, path = "accrual", str(body["ticket_number"]), "/v1/accruals/flights"
            sent = busy[number] = time.monotonic()
            try:
                response = client.post(path, json=body)
                outcome = str(response.status_code)
            except httpx.TransportError as exc:
                outcome = type(exc).__name__
                response = None
            busy.pop(number, None)
            calls.append(Call(kind, ident, sent, outcome))
            if response is not None and response.status_code == 201 and kind == "member":
                member = response.json()["member_number"]
            elif kind == "accrual":
                member = None if i % 3 == 0 else member
            if response is None:
                time.sleep(0.05)  # refused: the next try a little later


def post_batch(base: str, key: str, items: list[dict[str, Any]], into: dict[str, Any]) -> None:
    """A long request: a batch of accruals, its answer, and when it was sent (its body's last byte written
    to the socket: the server has the whole request) and answered."""

    def trace(event: str, info: dict[str, Any]) -> None:
        if event == "http11.send_request_body.complete":
            into["sent"] = time.monotonic()

    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        try:
            response = client.post(
                "/v1/accruals/flights/batch", json={"items": items}, extensions={"trace": trace}
            )
        except httpx.HTTPError as exc:  # reported by the test's assertions
            into["error"] = repr(exc)
            return
        into["answered"] = time.monotonic()
        into["status"] = response.status_code
        into["results"] = (
            [r["status"] for r in response.json()["results"]] if response.status_code == 200 else []
        )


def test_the_api_drains_every_request_accepted_before_sigterm_and_loses_none(
    database_url: str,
    container: Container,
    engine: Engine,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    key = make_key(container, ["member:write", "accrual:write"])
    port = free_port()
    serve = started(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        tmp_path / "serve.log",
        DATABASE_URL=database_url,
        LOG_LEVEL="warning",
    )
    processes.append(serve)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, serve, timeout=90, path="/readyz")
    stop = threading.Event()
    calls: list[Call] = []
    busy: dict[int, float] = {}  # thread -> when its request in flight was sent
    threads = [
        threading.Thread(target=load, args=(base, key, n, stop, calls, busy)) for n in range(LOAD_THREADS)
    ]
    for thread in threads:
        thread.start()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as own:
        enrolled = own.post(
            "/v1/members", json={"given_name": "B", "family_name": "Batch", "email": "b@b.example"}
        )
    batch_items = [coupon(enrolled.json()["member_number"]) for _ in range(BATCH_ITEMS)]
    batch: dict[str, Any] = {}
    long_request = threading.Thread(target=post_batch, args=(base, key, batch_items, batch))
    try:
        wait_until(lambda: sum(c.outcome == "201" for c in calls) >= 60, 60, "the load to warm up")
        long_request.start()
        # SIGTERM once the server has the whole batch (under load, serialising 8,000 items takes a while)
        wait_until(lambda: "sent" in batch or "error" in batch, 60, "the batch to be sent")
        time.sleep(0.3)
        in_flight = len(busy)
        signalled = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(DRAIN_SECONDS + 10)
        exited = time.monotonic() - signalled
        time.sleep(0.3)  # the clients find the port closed
        batch_in_flight = "answered" not in batch or batch["answered"] > signalled
    finally:
        stop.set()
        for thread in [*threads, long_request]:
            if thread.is_alive() or thread is not long_request:
                thread.join(60)
    before = [c for c in calls if c.sent < signalled]
    after = [c for c in calls if c.sent >= signalled]
    outcomes_after = {o: sum(c.outcome == o for c in after) for o in sorted({c.outcome for c in after})}
    print(
        f"\nAPI under {LOAD_THREADS} clients: {in_flight} requests in flight at SIGTERM; exit {code} "
        f"{exited:.2f} s after it (drain limit {DRAIN_SECONDS} s); of the {len(before)} requests sent before "
        f"it {sum(c.outcome == '201' for c in before)} answered 201; after it: {outcomes_after}"
    )
    assert "answered" in batch, f"the batch sent before SIGTERM got no answer: {batch.get('error')}"
    batch_answered = batch["answered"] - signalled
    print(
        f"API: a batch of {BATCH_ITEMS} accruals sent {signalled - batch['sent']:.2f} s before SIGTERM "
        f"answered {batch['status']} {batch_answered:.2f} s after it"
    )
    assert code == 0
    assert exited < DRAIN_SECONDS + 5
    assert batch_in_flight, "the batch was answered before SIGTERM: make it longer"
    assert batch["status"] == 200
    assert batch["results"] == ["created"] * BATCH_ITEMS
    assert in_flight >= 1, "no request was in flight at SIGTERM: the test would prove nothing"
    assert [c for c in before if c.outcome != "201"] == []
    assert {c.outcome for c in after} <= {"201", REFUSED, *CLOSED}
    assert any(c.outcome == REFUSED for c in after)  # the listener did close

    with engine.connect() as c:
        emails = set(c.execute(text("SELECT email FROM members")).scalars())
        tickets = set(c.execute(text("SELECT ticket_number FROM accruals")).scalars())
    stored = {"member": emails, "accrual": tickets}
    answered = [c for c in calls if c.outcome == "201"]
    assert [c for c in answered if c.key not in stored[c.kind]] == []  # every answered write is kept
    assert [c for c in calls if c.outcome != "201" and c.key in stored[c.kind]] == []  # no reply lost
    assert len(emails) == sum(c.kind == "member" for c in answered) + 1  # and the batch's member
    assert {str(item["ticket_number"]) for item in batch_items} <= tickets  # the drained batch is kept
    assert len(tickets) == sum(c.kind == "accrual" for c in answered) + BATCH_ITEMS


# --- the worker and beat -------------------------------------------------------------------------------------


def night_settings(database_url: str, broker_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "BROKER_URL": broker_url,
        "CLOCK_AT": datetime.combine(NIGHT, day_time(3, 0), tzinfo=UTC).isoformat(),
        "NIGHTLY_CHUNK_SIZE": str(CHUNK_SIZE),
        "TEST_CHUNK_DELAY_SECONDS": str(CHUNK_DELAY_SECONDS),
        "DATA_DIR": str(tmp_path),
    }


def chunks_done(engine: Engine) -> int:
    """A plain read: a probe that locked the chunks' rows would make a worker find its chunk busy."""
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM nightly_chunks WHERE state = 'done'")).scalar_one())


def chunks_running(broker_url: str, node: str) -> int:
    """Chunk tasks the worker's pool processes are executing."""
    replies = make_celery(broker_url).control.inspect(destination=[node], timeout=1).active() or {}
    return sum(task["name"] == CHUNK_JOB for tasks in replies.values() for task in tasks)


def broker_keys(broker_url: str) -> dict[str, int]:
    """Every key in the broker with its length (what a failure shows)."""
    client = redis.Redis.from_url(broker_url, decode_responses=True)
    sizes = {}
    for key in client.scan_iter():
        kind = str(client.type(key))
        size = {"list": client.llen, "hash": client.hlen, "zset": client.zcard, "set": client.scard}.get(kind)
        sizes[str(key)] = int(size(key)) if size else -1
    client.close()
    return sizes


def chunks_handled(broker_url: str, node: str) -> int:
    replies = make_celery(broker_url).control.inspect(destination=[node], timeout=2).stats() or {}
    return sum(int(reply.get("total", {}).get(CHUNK_JOB, 0)) for reply in replies.values())


def wait_for_ping(broker_url: str, node: str, process: subprocess.Popen[bytes]) -> None:
    control = make_celery(broker_url).control
    deadline = time.monotonic() + 90
    while not control.ping(destination=[node], timeout=1):
        assert process.poll() is None, f"{node} exited ({process.returncode})"
        assert time.monotonic() < deadline, f"{node} did not answer a ping"


def test_a_worker_finishes_its_running_chunks_on_sigterm_and_the_next_worker_the_queued_ones(
    database_url: str, engine: Engine, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    seed(engine, random_specs(CHUNK_SIZE * CHUNKS, seed_value=41))
    with redis_server() as broker:
        settings = night_settings(database_url, broker.url, tmp_path)
        first = started(
            ["worker", "--concurrency", "2", "--name", "miles@first"], tmp_path / "first.log", **settings
        )
        processes.append(first)
        wait_for_ping(broker.url, "miles@first", first)
        container = build_container(
            database_url,
            clock=FixedClock(datetime.combine(NIGHT, day_time(3, 0), tzinfo=UTC)),
            pool_size=2,
            broker_url=broker.url,
        )
        container.nightly = NightlyConfig(chunk_size=CHUNK_SIZE)
        try:
            run_id = start_run(container, NIGHT).run_id
            wait_until(
                lambda: chunks_running(broker.url, "miles@first") == 2, 60, "two chunks in the worker's hands"
            )
            done_at_signal, running_at_signal = chunks_done(engine), 2
            code, seconds = stop_with_sigterm(first, 120)
            done_after = chunks_done(engine)
            client = redis.Redis.from_url(broker.url)
            queued, unacked = int(client.llen("nightly")), int(client.hlen("unacked"))
            client.close()
            print(
                f"\nworker: SIGTERM with {running_at_signal} chunks running ({CHUNK_DELAY_SECONDS:.0f} s each), "
                f"{done_at_signal} done; exit {code} {seconds:.2f} s later with {done_after} done; "
                f"{queued} chunk messages back in the queue, {unacked} left unacknowledged"
            )
            assert code == 0
            assert done_at_signal == 0
            assert done_after == running_at_signal  # the running ones committed
            # the others are back in the queue for the next worker: none held back as unacknowledged (they
            # would come back only after the 3,600 s visibility timeout), none lost, none doubled
            assert (queued, unacked) == (CHUNKS - done_after, 0), (
                broker_keys(broker.url),
                (tmp_path / "first.log").read_text(errors="replace")[-4000:],
            )

            second = started(
                ["worker", "--concurrency", "2", "--name", "miles@second"],
                tmp_path / "second.log",
                **settings,
            )
            processes.append(second)
            resumed = time.monotonic()
            wait_until(
                lambda: chunks_done(engine) == CHUNKS,
                120,
                "the second worker to finish the night",
                lambda: (
                    f"{chunks_done(engine)} {broker_keys(broker.url)}; "
                    f"{(tmp_path / 'second.log').read_text(errors='replace')[-6000:]}"
                ),
            )
            finishing = time.monotonic() - resumed
            handled_by_second = chunks_handled(broker.url, "miles@second")
            wait_until(  # the run's follow-up job (its expiry warnings) handled too: the worker is idle
                lambda: all(
                    size == 0 for key, size in broker_keys(broker.url).items() if "binding" not in key
                ),
                30,
                "the broker's queues to empty",
                lambda: str(broker_keys(broker.url)),
            )
            idle_code, idle_seconds = stop_with_sigterm(second, 60)
            report = report_of_run(container, run_id)
        finally:
            container.engine.dispose()
    print(
        f"worker: the second worker did the {handled_by_second} queued chunks in {finishing:.1f} s (its start "
        f"included); stopped idle {idle_seconds:.2f} s after SIGTERM, exit {idle_code}"
    )
    assert handled_by_second == CHUNKS - done_after  # each chunk done once: two by the first, the rest here
    assert idle_code == 0
    assert (report.status, report.chunks, report.chunks_done) == ("done", CHUNKS, CHUNKS)
    assert report.members.processed == CHUNK_SIZE * CHUNKS
    with engine.connect() as c:
        assert (
            c.execute(text("SELECT max(enqueues) FROM nightly_chunks")).scalar_one() == 1
        )  # never queued again


def test_beat_stops_at_once_on_sigterm(
    database_url: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    with redis_server() as broker:
        beat = started(
            ["beat"],
            tmp_path / "beat.log",
            DATABASE_URL=database_url,
            BROKER_URL=broker.url,
            DATA_DIR=str(tmp_path),
        )
        processes.append(beat)
        client = redis.Redis.from_url(broker.url)
        wait_until(lambda: beat.poll() is not None or int(client.llen("default")) > 0, 90, "beat's first job")
        client.close()
        assert beat.poll() is None, (tmp_path / "beat.log").read_text()
        code, seconds = stop_with_sigterm(beat, 30)
    print(f"\nbeat: exit {code} {seconds:.2f} s after SIGTERM")
    assert code == 0
    assert seconds < 5
