"""The booking saga on real Celery workers and a Redis of the test's own: a worker killed mid-saga, a
supplier that times out after booking, Redis restarted with its queue lost. No redemption is lost, none
is booked twice, every hold ends posted, voided or expired."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from miles.api.app import create_app
from miles.bootstrap import Container, build_container
from miles.services.apikeys import SCOPES
from miles.services.clock import FixedClock
from miles.services.redemptions.saga_runtime import SWEEP
from tests.integration.conftest import make_key
from tests.integration.factories import enrol
from tests.integration.redemption_helpers import (
    account,
    bookings,
    flight,
    grant_miles,
    hold_status,
    redeem,
    set_supplier,
    wait_for,
)
from tests.integration.workers import RedisServer, celery_worker, miles_process, redis_server, stop


def eventually(check: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def celery_container(database_url: str, redis: RedisServer) -> Iterator[Container]:
    """The API's container as in production: jobs go through the outbox to Celery on the test's Redis."""
    c = build_container(database_url, pool_size=4, broker_url=redis.url)
    yield c
    c.engine.dispose()


@pytest.fixture
def api(celery_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(celery_container)) as tc:
        tc.headers["Authorization"] = f"Bearer {make_key(celery_container, list(SCOPES))}"
        yield tc


def sweep_later(database_url: str, redis: RedisServer, seconds: float) -> None:
    """What beat's sweep does, run `seconds` from now (a pushed step goes through the outbox to Celery)."""
    later = build_container(
        database_url,
        clock=FixedClock(datetime.now(UTC) + timedelta(seconds=seconds)),
        pool_size=2,
        broker_url=redis.url,
    )
    try:
        later.run_job(SWEEP, {})
        later.relay_outbox()
    finally:
        later.engine.dispose()


def test_a_worker_killed_after_booking_before_posting_ends_with_one_booking_and_the_hold_posted(
    api: TestClient, celery_container: Container, database_url: str, redis: RedisServer, engine
) -> None:
    member = enrol(api)
    grant_miles(celery_container, member, 30_000)
    worker = miles_process(
        ["worker", "--concurrency", "1"],
        database_url,
        redis.url,
        MILES_TEST_PAUSE_AFTER_BOOKING_SECONDS="120",
    )
    try:
        redemption_id = redeem(api, member, flight()).json()["redemption_id"]
        eventually(lambda: len(bookings(engine)) == 1, what="the supplier's booking")
        stop(worker, signal.SIGKILL)  # between the booking and the hold's posting
    finally:
        stop(worker)
    assert api.get(f"/v1/redemptions/{redemption_id}").json()["status"] == "PENDING"
    assert hold_status(engine, redemption_id) == "OPEN"

    with celery_worker(database_url, redis.url, concurrency=1):
        sweep_later(database_url, redis, celery_container.hold_timing.retry_seconds + 1)
        wait_for(api, redemption_id, "CONFIRMED", timeout=60)
    assert bookings(engine) == [
        {"supplier": "flights", "key": f"redemption:{redemption_id}:1", "status": "BOOKED"}
    ]
    assert hold_status(engine, redemption_id) == "POSTED"
    assert account(engine, member) == (5_000, 0)


def test_a_supplier_that_times_out_after_booking_is_settled_by_the_sweeper_from_its_answer(
    api: TestClient, celery_container: Container, database_url: str, redis: RedisServer, engine
) -> None:
    member = enrol(api)
    grant_miles(celery_container, member, 30_000)
    set_supplier(celery_container, "flights", unknown_outcome_rate=1.0)
    with celery_worker(database_url, redis.url, concurrency=1):
        redemption_id = redeem(api, member, flight()).json()["redemption_id"]
        eventually(
            lambda: "outcome unknown" in str(api.get(f"/v1/redemptions/{redemption_id}").json()["history"]),
            what="the saga to record the unknown outcome",
        )
        assert account(engine, member) == (30_000, 25_000)
        sweep_later(database_url, redis, celery_container.hold_timing.hold_seconds + 1)
        done = wait_for(api, redemption_id, "CONFIRMED", timeout=60)
    assert done["history"][-1]["reason"] == "the suppliers confirmed the booking after the hold expired"
    assert [b["status"] for b in bookings(engine)] == ["BOOKED"]
    assert account(engine, member) == (5_000, 0)


def test_redis_restarted_with_its_queue_lost_mid_saga_loses_no_redemption(
    api: TestClient, celery_container: Container, database_url: str, redis: RedisServer, engine
) -> None:
    member = enrol(api)
    grant_miles(celery_container, member, 12 * 7_500)
    set_supplier(celery_container, "flights", latency_ms=150)  # the worker falls behind: jobs wait in Redis
    with celery_worker(database_url, redis.url, concurrency=1):
        ids = [redeem(api, member, flight("JFK", "BOS")).json()["redemption_id"] for _ in range(8)]
        lost = redis.held_messages("default")
        assert lost >= 1, "no job was waiting in Redis when it died: the test would prove nothing"
        redis.kill(keep_data=False)  # SIGKILL, and the queue is gone with it
        ids += [
            redeem(api, member, flight("JFK", "BOS")).json()["redemption_id"] for _ in range(4)
        ]  # Redis down
        redis.start()
        assert {api.get(f"/v1/redemptions/{i}").json()["status"] for i in ids[8:]} == {"PENDING"}

        def all_confirmed() -> bool:
            celery_container.relay_outbox()  # what beat's relay does every few seconds
            sweep_later(database_url, redis, celery_container.hold_timing.retry_seconds + 1)
            statuses = {api.get(f"/v1/redemptions/{i}").json()["status"] for i in ids}
            return statuses == {"CONFIRMED"}

        eventually(all_confirmed, timeout=90, what="every redemption to be confirmed")
    assert len(ids) == len(set(ids)) == 12
    assert sorted(b["key"] for b in bookings(engine)) == sorted(f"redemption:{i}:1" for i in ids)
    assert account(engine, member) == (0, 0)
