"""The broker as operators see it: Redis reachable, the length of the Celery queues, the workers that answer
a ping."""

from __future__ import annotations

from dataclasses import dataclass, field

QUEUES = ("default", "nightly")  # the queues `miles worker` consumes (see miles.adapters.queue.queue_for)
# kombu's Redis transport keeps a queue in one list per priority step: the queue's name, then the name
# followed by this separator and the step (messages sent without a priority go to the first)
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
UNACKED = "unacked"  # kombu's hash of messages delivered to a worker and not yet acknowledged


@dataclass(frozen=True)
class BrokerState:
    reachable: bool
    error: str | None = None
    queues: dict[str, int] = field(default_factory=dict)  # messages waiting, by queue
    unacked: int = 0  # delivered, not yet acknowledged (jobs being done, with late acks)


def broker_errors() -> tuple[type[Exception], ...]:
    """What a broker that is down or unreachable raises: redis-py's and kombu's errors, the socket's."""
    import redis
    from kombu.exceptions import KombuError

    return (redis.RedisError, KombuError, OSError)


def broker_state(url: str, timeout: float = 2.0) -> BrokerState:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
        pipe = client.pipeline(transaction=False)
        for queue in QUEUES:
            pipe.llen(queue)
            for step in PRIORITY_STEPS:
                pipe.llen(f"{queue}{PRIORITY_SEPARATOR}{step}")
        pipe.hlen(UNACKED)
        lengths = [int(n) for n in pipe.execute()]
    except broker_errors() as exc:  # reported as unreachable, with its kind
        return BrokerState(False, f"{type(exc).__name__}: {exc}")
    finally:
        client.close()
    per_queue = len(PRIORITY_STEPS) + 1
    queues = {q: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, q in enumerate(QUEUES)}
    return BrokerState(True, None, queues, lengths[-1])


def responding_workers(url: str, timeout: float = 1.0) -> list[str]:
    """The names of the Celery workers that answer a ping within `timeout` seconds (the broker is
    reachable: check it first, a ping to an unreachable broker would wait for its connection retries)."""
    from celery import Celery

    app = Celery("miles-status", broker=url)
    app.conf.update(
        broker_connection_retry=False,
        broker_connection_max_retries=1,
        broker_connection_timeout=timeout,
        broker_transport_options={"socket_connect_timeout": timeout, "socket_timeout": timeout + 1},
    )
    try:
        replies = app.control.ping(timeout=timeout) or []
    finally:
        app.close()
    return sorted(name for reply in replies for name in reply)
