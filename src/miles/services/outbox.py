"""Relaying the outbox to the queue: at least once; every job is idempotent, so a repeat is harmless."""

from __future__ import annotations

from miles.services.runtime import Runtime, job


def relay(runtime: Runtime, batch: int = 100) -> int:
    """Send every job not yet sent; the number sent."""
    sent = 0
    while True:
        with runtime.uow() as uow:
            rows = uow.outbox.claim(batch)
            for row in rows:
                runtime.dispatcher.send(row.task, row.payload, request_id=row.request_id)
            uow.outbox.mark_sent([r.id for r in rows])
        sent += len(rows)
        if len(rows) < batch:
            return sent


@job("miles.outbox.relay")
def relay_job(runtime: Runtime) -> int:
    return relay(runtime)
