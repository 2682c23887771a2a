"""Every supplier call on that supplier's own bounded pool, with a timeout, so that a slow supplier can
never hold every thread of an API process (a quote waits for the supplier on the API's thread pool; 60
quotes to a supplier answering in seconds once held all 40 of its threads, and another member's read
waited behind them for 5.6 s).

Per supplier and per process:
- at most `calls` calls run at once, on the pool's own threads;
- at most `queue` more callers wait for one of them;
- a caller past both is refused at once, and a caller waits at most `timeout` seconds for its answer.
A refused or timed-out caller gets SupplierTimeout (supplier_unavailable, 503 with Retry-After): the outcome
is unknown to it, which every use case already handles (a booking is asked again by key; a quote holds
nothing). A call that outlives its caller's timeout keeps its slot until the supplier answers, so the
number of threads waiting on a supplier stays bounded however long it hangs: `calls + queue` callers of
the API's threads, and `calls` threads of the pool, per supplier.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from miles.adapters.suppliers.protocol import Booking, Supplier, Suppliers, SupplierTimeout
from miles.domain.awards import Fare

P = ParamSpec("P")
R = TypeVar("R")
ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class PoolLimits:
    calls: int = 6  # calls at once, per supplier and process
    queue: int = 4  # callers allowed to wait for a call slot
    timeout: float = 10.0  # seconds a caller waits for its answer, from its arrival


class SupplierPool:
    """A supplier's own threads, and the bound on the callers waiting for them."""

    def __init__(self, name: str, limits: PoolLimits) -> None:
        self.name = name
        self.limits = limits
        self._executor = ThreadPoolExecutor(max_workers=limits.calls, thread_name_prefix=f"supplier-{name}")
        self._slots = threading.BoundedSemaphore(limits.calls + limits.queue)

    def call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if not self._slots.acquire(blocking=False):
            raise SupplierTimeout(
                f"{self.name}: {self.limits.calls + self.limits.queue} calls are already waiting for this "
                "supplier; nothing was done, try again shortly"
            )
        try:
            context = contextvars.copy_context()  # the request id follows the call into the pool's logs
            future: Future[R] = self._executor.submit(lambda: context.run(fn, *args, **kwargs))
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(self._release)  # when the call ends (or, still queued, is cancelled)
        try:
            return future.result(timeout=self.limits.timeout)
        except FutureTimeout:
            future.cancel()  # never started: it will not run
            raise SupplierTimeout(
                f"{self.name}: no answer in {self.limits.timeout:g} s; the outcome is unknown, try again"
            ) from None

    def _release(self, _: Future[Any]) -> None:
        self._slots.release()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class BoundedSupplier(Generic[ItemT]):
    """A supplier whose every call goes through its pool."""

    def __init__(self, supplier: Supplier[ItemT], limits: PoolLimits) -> None:
        self.supplier = supplier
        self.name = supplier.name
        self.pool = SupplierPool(supplier.name, limits)

    def quote(self, item: ItemT) -> Fare | None:
        return self.pool.call(self.supplier.quote, item)

    def book(self, key: str, item: ItemT, fare: Fare | None) -> Booking:
        return self.pool.call(self.supplier.book, key, item, fare)

    def find(self, key: str) -> Booking | None:
        return self.pool.call(self.supplier.find, key)

    def cancel(self, key: str) -> Booking | None:
        return self.pool.call(self.supplier.cancel, key)


def bounded(suppliers: Suppliers, limits: PoolLimits) -> Suppliers:
    """The same suppliers, each behind a pool of its own (a slow hotel supplier never slows flights)."""
    return Suppliers(
        flights=BoundedSupplier(suppliers.flights, limits),
        hotels=BoundedSupplier(suppliers.hotels, limits),
        baggage=BoundedSupplier(suppliers.baggage, limits),
    )
