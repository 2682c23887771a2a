"""Real processes for tests: Redis (the one MILES_TEST_REDIS_URL names, or a private one on a free port),
Celery workers and beat against it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.integration.conftest import free_port


class RedisServer:
    """A redis-server of the test's own, so that it can be stopped and restarted without touching the
    machine's shared one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="miles-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def held_messages(self, *queues: str) -> int:
        """Messages waiting in the named queues plus those delivered and not yet acknowledged."""
        client = redis.Redis(port=self.port, socket_timeout=1)
        return sum(int(client.llen(queue)) for queue in queues) + int(client.hlen("unacked"))

    def kill(self, keep_data: bool) -> None:
        """SIGKILL: no shutdown, no final write; without `keep_data` its append-only file is deleted too,
        so it comes back empty, every queued message lost."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None
        if not keep_data:
            shutil.rmtree(self.dir)
            self.dir.mkdir()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


class SharedRedis:
    """The Redis that MILES_TEST_REDIS_URL names (CI sets it), for a test that needs a broker but never
    stops or restarts it. One test at a time uses it: the first to take its lock key, emptied before and
    after; a test that finds it taken (another xdist worker, another run on the machine) gets a private
    server instead, so two tests never share a queue."""

    LOCK = "miles-tests:lock"

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis.Redis.from_url(url)
        self.token = uuid.uuid4().hex

    def claim(self, seconds: int = 600) -> bool:
        try:
            taken = bool(self.client.set(self.LOCK, self.token, nx=True, ex=seconds))
        except redis.ConnectionError as exc:
            raise RuntimeError(f"MILES_TEST_REDIS_URL={self.url} does not answer: {exc}") from exc
        if taken:
            self.empty()
        return taken

    def empty(self) -> None:
        """Every key of this database but the lock (what earlier tests or runs left in the queues)."""
        keys = [key for key in self.client.scan_iter(count=1000) if key != self.LOCK.encode()]
        if keys:
            self.client.delete(*keys)

    def release(self) -> None:
        self.empty()
        if self.client.get(self.LOCK) == self.token.encode():
            self.client.delete(self.LOCK)
        self.client.close()


@contextmanager
def broker_redis() -> Iterator[SharedRedis | RedisServer]:
    """A Redis broker for a test that does not stop it: the shared test Redis when it is set and free, else
    a private one (tests that stop, kill or restart Redis always use `redis_server`)."""
    url = os.environ.get("MILES_TEST_REDIS_URL")
    if url:
        shared = SharedRedis(url)
        if shared.claim():
            try:
                yield shared
            finally:
                shared.release()
            return
    with redis_server() as server:
        yield server


def miles_process(
    command: list[str], database_url: str, broker_url: str, **extra_env: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MILES_DATABASE_URL": database_url,
        "MILES_BROKER_URL": broker_url,
        "MILES_LOG_LEVEL": "warning",
        **extra_env,
    }
    return subprocess.Popen([sys.executable, "-m", "miles.cli", *command], env=env, start_new_session=True)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a process and its children (a Celery worker's pool)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)
    except ProcessLookupError:
        pass


@contextmanager
def celery_worker(
    database_url: str, broker_url: str, concurrency: int = 2, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    process = miles_process(["worker", "--concurrency", str(concurrency)], database_url, broker_url, **env)
    try:
        yield process
    finally:
        stop(process)


def stop_with_sigterm(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, float]:
    """SIGTERM to the process alone (as the kubelet sends it, not to its group): its exit code and the
    seconds from the signal to its exit; killed, and the test failed, if it is still running at `timeout`."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        pytest.fail(f"still running {timeout:.0f} s after SIGTERM")
    return code, time.monotonic() - started
