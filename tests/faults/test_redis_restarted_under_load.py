"""Redis restarted under load: booking systems post coupons and award requests over HTTP from several
threads to a real `miles serve`, a real `miles worker` books the awards, and meanwhile the broker is killed
(SIGKILL) and started again on the same port: once with its append-only file, once without it (the queue is
lost). Then what beat runs (the outbox relay, the redemption sweep) until no redemption is PENDING.

Nothing is lost and nothing is doubled: every coupon earned once, with the miles its client was told; every
award request made one redemption, CONFIRMED, with one supplier booking per item; every balance is what the
answers imply (and the autouse `clean_ledger` checks the ledger's own invariants after)."""

from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Engine, text

from miles.bootstrap import Container, build_container
from miles.services.clock import FixedClock
from miles.services.redemptions.saga_runtime import SWEEP
from tests.integration.conftest import NOW, free_port, make_key, wait_healthy
from tests.integration.factories import coupon
from tests.integration.redemption_helpers import bag, flight, grant_miles, hotel, set_supplier
from tests.integration.workers import RedisServer, celery_worker, miles_process, redis_server, stop

CLIENTS = 6
MEMBERS = 4
LOAD_SECONDS = 8.0
GRANTED = 2_000_000  # per member: far more than the load can spend, so no request is refused for miles
ORIGINS = ["SEA", "SFO", "ORD", "ATL", "BOS", "MIA", "DFW", "DEN"]
AWARDS = [
    [flight("JFK", "BOS")],
    [flight("JFK", "BOS"), bag("JFK", "BOS")],
    [hotel("LON", category=1, nights=1)],
]
SUPPLIER_OF = {"flight": "flights", "hotel": "hotels", "baggage": "baggage"}
PINNED = {"MILES_CLOCK_AT": NOW.isoformat()}  # the API and the worker on the tests' clock


@dataclass
class Told:
    """What the clients were answered, and how often they had to ask again."""

    accruals: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # body, answer
    redemptions: list[tuple[str, str, list[dict[str, Any]], dict[str, Any]]] = field(
        default_factory=list
    )  # Idempotency-Key, member, items, answer
    statuses: Counter[int] = field(default_factory=Counter)
    no_answer: int = 0  # connection refused, reset or timed out
    slowest: dict[str, float] = field(default_factory=dict)  # seconds, by path


@pytest.fixture
def broker() -> Iterator[RedisServer]:
    """A Redis of the test's own (never the machine's shared one): this test kills it."""
    with redis_server() as server:
        yield server


@pytest.fixture
def api(database_url: str, broker: RedisServer) -> Iterator[str]:
    """A real `miles serve` (two processes) whose jobs go through the outbox to the test's Redis."""
    port = free_port()
    process = miles_process(
        ["serve", "--port", str(port), "--workers", "2"], database_url, broker.url, **PINNED
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        stop(process)


def kill_and_restart(server: RedisServer, keep_data: bool, down_seconds: float = 2.0) -> int:
    """SIGKILL the Redis (no shutdown, no final write), start it again on the same port after a pause,
    with its append-only file or without it. Returns the messages it held when it was killed."""
    held = 0
    try:
        held = server.held_messages("default")
    except redis.RedisError:
        pass
    server.kill(keep_data)
    time.sleep(down_seconds)
    server.start()
    return held


def wait_for_backlog(server: RedisServer, timeout: float) -> None:
    """Until jobs wait in the queue (the worker has fallen behind), so that losing it loses some."""
    client = redis.Redis(port=server.port, socket_timeout=1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if client.llen("default") > 0:
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)


class Client:
    """A booking system's client: the same request again until it has a definitive answer."""

    def __init__(self, base: str, key: str, told: Told) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        self.told = told

    def answer(
        self, path: str, body: dict[str, Any], ok: tuple[int, ...], idempotency_key: str = ""
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        deadline = time.monotonic() + 30
        while True:
            sent = time.monotonic()
            try:
                response = self.http.post(path, json=body, headers=headers)
            except httpx.HTTPError:
                self.told.no_answer += 1
            else:
                self.told.statuses[response.status_code] += 1
                took = time.monotonic() - sent
                self.told.slowest[path] = max(self.told.slowest.get(path, 0.0), took)
                if response.status_code in ok:
                    answer: dict[str, Any] = response.json()
                    return answer
                assert response.status_code >= 500, f"{path}: {response.status_code} {response.text}"
            assert time.monotonic() < deadline, f"no definitive answer from {path} in 30 s"
            time.sleep(0.05)

    def accrue(self, member: str, origin: str, replay: bool) -> None:
        body = coupon(member, origin=origin)
        answer = self.answer("/v1/accruals/flights", body, (201, 200))
        if replay:  # a booking system sending the coupon again: answered the same, earned once
            assert self.answer("/v1/accruals/flights", body, (200,)) == answer
        self.told.accruals.append((body, answer))

    def redeem(self, member: str, items: list[dict[str, Any]], replay: bool = False) -> None:
        key = uuid.uuid4().hex
        body = {"member_number": member, "items": items}
        answer = self.answer("/v1/redemptions", body, (202,), idempotency_key=key)
        if replay:  # the same request again under its key: the same redemption, held once
            assert self.answer("/v1/redemptions", body, (202,), idempotency_key=key) == answer
        self.told.redemptions.append((key, member, items, answer))

    def close(self) -> None:
        self.http.close()


def load(base: str, key: str, members: list[str], until: float, n: int, told: Told) -> None:
    client = Client(base, key, told)
    try:
        for i in itertools.count():
            if time.monotonic() >= until:
                return
            member = members[(n + i) % len(members)]
            replay = i % 8 < 2  # one request in four is sent again once answered
            if i % 2 == 0:
                client.accrue(member, ORIGINS[(n + i) % len(ORIGINS)], replay)
            else:
                client.redeem(member, AWARDS[(n + i // 2) % len(AWARDS)], replay)
    finally:
        client.close()


def confirmed_once(base: str, key: str, member: str, told: Told) -> None:
    """One award request through to CONFIRMED: the worker is up and consuming."""
    client = Client(base, key, told)
    try:
        client.redeem(member, AWARDS[0])
        redemption_id = told.redemptions[-1][3]["redemption_id"]
        deadline = time.monotonic() + 30
        while client.http.get(f"/v1/redemptions/{redemption_id}").json()["status"] != "CONFIRMED":
            assert time.monotonic() < deadline, "the worker booked nothing in 30 s"
            time.sleep(0.1)
    finally:
        client.close()


def pending(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM redemptions WHERE status = 'PENDING'")).scalar_one())


def queue_idle(server: RedisServer) -> bool:
    """No job waiting in the queue and none delivered to the worker and not yet done (acknowledged)."""
    client = redis.Redis(port=server.port, socket_timeout=1)
    return int(client.llen("default")) == 0 and int(client.hlen("unacked")) == 0


def run_beat_until_settled(database_url: str, broker: RedisServer, engine: Engine, timeout: float) -> int:
    """What beat runs: the outbox relay, and the redemption sweep with its clock moved past the sagas' next
    attempt (as the real one would be by then), until no redemption is PENDING and the worker has done every
    job it was sent. The first sweep comes at once: it pushes every PENDING redemption again, also those
    whose message still waits in the queue, so that some are delivered twice; later sweeps come whenever the
    sagas have gone quiet. Returns how many sweeps it took."""
    clock = FixedClock(NOW)
    beat = build_container(database_url, clock=clock, pool_size=2, broker_url=broker.url)
    step = timedelta(seconds=beat.hold_timing.retry_seconds + 1)
    last_sweep = NOW + timedelta(seconds=beat.hold_timing.hold_seconds) - step  # later, holds would expire
    sweeps, left, progress_at, idle = 0, -1, time.monotonic(), 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            beat.relay_outbox()
            now_left = pending(engine)
            idle = idle + 1 if now_left == 0 and queue_idle(broker) else 0
            if idle == 3:
                return sweeps
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{now_left} redemptions still PENDING, or jobs still queued, after {timeout:.0f} s"
                )
            if now_left != left:
                left, progress_at = now_left, time.monotonic()
            if now_left and (sweeps == 0 or time.monotonic() - progress_at > 1.5):  # quiet: messages lost
                if clock.at + step >= last_sweep:
                    pytest.fail(f"{now_left} redemptions still PENDING after {sweeps} sweeps: lost")
                clock.at += step
                beat.run_job(SWEEP, {})
                sweeps += 1
                progress_at = time.monotonic()
            time.sleep(0.2)
    finally:
        beat.engine.dispose()


def test_redis_killed_and_restarted_with_and_without_its_data_under_load_loses_and_doubles_nothing(
    api: str, broker: RedisServer, container: Container, database_url: str, engine: Engine
) -> None:
    started = time.monotonic()
    key = make_key(container, ["admin"])
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        members = [
            http.post(
                "/v1/members", json={"given_name": "R", "family_name": str(i), "email": "r@r.example"}
            ).json()["member_number"]
            for i in range(MEMBERS)
        ]
    for member in members:
        grant_miles(container, member, GRANTED)
    set_supplier(container, "flights", latency_ms=30)  # the worker falls behind: jobs wait in Redis

    told = Told()
    held: list[int] = []
    with celery_worker(database_url, broker.url, concurrency=1, **PINNED):
        confirmed_once(api, key, members[0], told)  # the worker is consuming before the load begins
        until = time.monotonic() + LOAD_SECONDS
        with ThreadPoolExecutor(CLIENTS) as pool:
            clients = [pool.submit(load, api, key, members, until, n, told) for n in range(CLIENTS)]
            time.sleep(1.5)
            held.append(kill_and_restart(broker, keep_data=True))
            time.sleep(1.5)
            wait_for_backlog(broker, timeout=3)
            held.append(kill_and_restart(broker, keep_data=False))  # the queue is lost
            for future in clients:
                future.result()
        sweeps = run_beat_until_settled(database_url, broker, engine, timeout=40)
    print(
        f"\n{len(told.accruals)} accruals, {len(told.redemptions)} redemptions, answers {dict(told.statuses)}, "
        f"{told.no_answer} without an answer; Redis held {held} messages when killed; {sweeps} sweeps; "
        f"slowest answers {told.slowest}; {time.monotonic() - started:.1f} s"
    )
    assert held[1] > 0, "the queue was empty when it was lost: the test proved nothing about losing it"
    assert len(told.accruals) > 50
    assert len(told.redemptions) > 50

    with engine.connect() as c:
        # every coupon earned once, with the miles its client was told, in one flight_accrual transfer
        earned = {
            (r.ticket_number, r.coupon_number): (r.accruals, r.award_miles, r.transfers, r.transferred)
            for r in c.execute(
                text(
                    "SELECT a.ticket_number, a.coupon_number, count(DISTINCT a.id) AS accruals, "
                    "min(a.award_miles) AS award_miles, count(t.id) AS transfers, "
                    "coalesce(sum(t.amount), 0) AS transferred FROM accruals a "
                    "LEFT JOIN transfers t ON t.accrual_id = a.id AND t.code = 'flight_accrual' "
                    "GROUP BY a.ticket_number, a.coupon_number"
                )
            )
        }
        assert earned == {
            (body["ticket_number"], body["coupon_number"]): (1, a["award_miles"], 1, a["award_miles"])
            for body, a in told.accruals
        }

        # every award request made one redemption, CONFIRMED, its miles posted once
        ids = [answer["redemption_id"] for _, _, _, answer in told.redemptions]
        assert len(set(ids)) == len(ids)
        redemptions = {
            r.id: (r.status, r.miles, r.posted, r.items)
            for r in c.execute(
                text(
                    "SELECT r.id, r.status, r.miles, "
                    "(SELECT coalesce(sum(amount), 0) FROM transfers t "
                    " WHERE t.redemption_id = r.id AND t.code = 'redemption') AS posted, "
                    "(SELECT count(*) FROM redemption_items i WHERE i.redemption_id = r.id) AS items "
                    "FROM redemptions r"
                )
            )
        }
        assert redemptions == {
            answer["redemption_id"]: ("CONFIRMED", answer["miles"], answer["miles"], len(items))
            for _, _, items, answer in told.redemptions
        }

        # one supplier booking per item, under the item's key, still booked
        bookings = sorted(
            (r.supplier, r.key, r.status)
            for r in c.execute(text("SELECT supplier, key, status FROM sim_supplier_bookings"))
        )
        assert bookings == sorted(
            (SUPPLIER_OF[item["kind"]], f"redemption:{answer['redemption_id']}:{n}", "BOOKED")
            for _, _, items, answer in told.redemptions
            for n, item in enumerate(items, start=1)
        )

        # every balance is what the answers imply, nothing held any more
        expected = dict.fromkeys(members, GRANTED)
        for body, answer in told.accruals:
            expected[body["member_number"]] += answer["award_miles"]
        for _, member, _, answer in told.redemptions:
            expected[member] -= answer["miles"]
        accounts = {
            r.code.removeprefix("member:"): (r.balance, r.pending)
            for r in c.execute(text("SELECT code, balance, pending FROM accounts WHERE code LIKE 'member:%'"))
        }
        assert accounts == {member: (miles, 0) for member, miles in expected.items()}

        # and the outbox has sent everything
        unsent = c.execute(text("SELECT count(*) FROM task_outbox WHERE dispatched_at IS NULL")).scalar_one()
        assert unsent == 0
