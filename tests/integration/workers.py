"""Real processes for tests: a private Redis on a free port, Celery workers and beat against it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
