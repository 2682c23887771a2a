"""A supplier's bounded pool: calls at once and callers waiting are bounded, a slow answer is a timeout, a
call that outlives its caller keeps its slot, and a supplier's own answers and refusals pass through."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from miles.adapters.suppliers.pool import BoundedSupplier, PoolLimits, SupplierPool
from miles.adapters.suppliers.protocol import Booking, SupplierRefused, SupplierTimeout
from miles.domain.awards import Fare
from miles.observability import request_id


def test_callers_past_the_calls_and_the_queue_are_refused_at_once() -> None:
    pool = SupplierPool("flights", PoolLimits(calls=2, queue=1, timeout=5))
    release = threading.Event()
    started = threading.Semaphore(0)

    def slow() -> str:
        started.release()
        release.wait(5)
        return "answered"

    with ThreadPoolExecutor(3) as callers:
        waiting = [callers.submit(pool.call, slow) for _ in range(3)]
        assert started.acquire(timeout=2)  # two run, the third waits for a slot
        assert started.acquire(timeout=2)
        t = time.perf_counter()
        with pytest.raises(SupplierTimeout, match="3 calls are already waiting"):
            pool.call(slow)
        assert time.perf_counter() - t < 0.1
        release.set()
        assert [f.result(5) for f in waiting] == ["answered"] * 3
    assert pool.call(lambda: "free again") == "free again"
    pool.shutdown()


def test_a_caller_waits_at_most_the_timeout_and_the_slow_call_keeps_its_slot_until_it_ends() -> None:
    pool = SupplierPool("hotels", PoolLimits(calls=1, queue=0, timeout=0.2))
    release = threading.Event()
    t = time.perf_counter()
    with pytest.raises(SupplierTimeout, match="no answer in 0.2 s"):
        pool.call(release.wait, 5)
    assert 0.15 < time.perf_counter() - t < 1
    with pytest.raises(SupplierTimeout, match="already waiting"):  # the hung call still holds the slot
        pool.call(lambda: None)
    release.set()
    deadline = time.monotonic() + 2
    while True:
        try:
            assert pool.call(lambda: 42) == 42
            break
        except SupplierTimeout:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    pool.shutdown()


class _Supplier:
    name = "flights"

    def quote(self, item: object) -> Fare | None:
        return Fare.SAVER if request_id.get() == "req-7" else Fare.STANDARD

    def book(self, key: str, item: object, fare: Fare | None) -> Booking:
        raise SupplierRefused("no availability")

    def find(self, key: str) -> Booking | None:
        return Booking(key, "ABC123", "BOOKED")

    def cancel(self, key: str) -> Booking | None:
        return None


def test_answers_and_refusals_pass_through_and_the_request_id_follows_the_call() -> None:
    supplier = BoundedSupplier[object](_Supplier(), PoolLimits())
    token = request_id.set("req-7")
    try:
        assert supplier.quote(object()) is Fare.SAVER
    finally:
        request_id.reset(token)
    with pytest.raises(SupplierRefused):
        supplier.book("k", object(), None)
    assert supplier.find("k") == Booking("k", "ABC123", "BOOKED")
    assert supplier.cancel("k") is None
    assert supplier.name == "flights"
