"""Each role starting as its image starts it (deploy/Dockerfile, deploy/k8s/): the venv's `miles` entry point
with the image's environment, as uid and gid 10001 with no capability, on a read-only root where only the
manifests' emptyDirs are writable (tests/integration/sandbox.py). Each does its real work and stops cleanly
on SIGTERM, and writes nowhere else."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from miles.adapters.db.engine import sqlalchemy_url
from miles.adapters.db.migrate import head_revision
from miles.bootstrap import Container, build_container
from miles.cli.serve import DRAIN_SECONDS
from miles.services.clock import FixedClock
from miles.services.nightly.config import NightlyConfig
from miles.services.nightly.runs import start_run
from tests.conftest import migrated_database
from tests.integration.conftest import free_port, wait_healthy
from tests.integration.nightly_data import random_specs, seed
from tests.integration.sandbox import DATA_DIR, REPO, UID, VENV, inside, run_in_sandbox, start_role
from tests.integration.workers import redis_server, stop_with_sigterm
from workers.app import make_celery

EROFS = "Read-only file system"
NIGHT = date(2028, 3, 1)
WRITABLE = {"/tmp", DATA_DIR, "/dev/shm", "/dev/pts", "/proc", "/sys"}  # /sys and /proc: the kernel's


def owned_by_sandbox_user(*folders: Path) -> list[str]:
    """Files uid 10001 made in these folders (the tests' own processes run as root)."""
    found = subprocess.run(
        ["find", *map(str, folders), "-xdev", "-uid", str(UID)], capture_output=True, text=True, check=False
    )
    return found.stdout.split()


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the role exited ({process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def assert_clean_log(log: Path) -> str:
    output = log.read_text(errors="replace")
    assert EROFS not in output, output
    assert "Traceback" not in output, output
    return output


@pytest.fixture
def role(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Starts sandboxed roles; kills whatever is left of them after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], **settings: str) -> subprocess.Popen[bytes]:
        process = start_role(args, tmp_path / f"{args[0]}.log", **settings)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:  # the role and its children (a worker's pool)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert owned_by_sandbox_user(REPO, Path("/tmp")) == []


def test_the_sandbox_is_uid_10001_without_capabilities_and_writes_only_its_emptydirs() -> None:
    """The negative control: the same sandbox refuses a write to the repository, the venv and /etc."""
    probes = [REPO / "sandbox-probe", VENV / "sandbox-probe", Path("/etc/sandbox-probe")]
    script = "; ".join(
        [
            "id -u; id -g; grep CapEff /proc/self/status",
            *(f"touch {p}" for p in probes),
            f"touch /tmp/ok {DATA_DIR}/ok /dev/shm/ok && echo emptydirs-writable",
            "findmnt -rno TARGET,OPTIONS",
        ]
    )
    result = run_in_sandbox(["sh", "-c", script])
    lines = result.stdout.splitlines()
    assert lines[:3] == [str(UID), str(UID), "CapEff:\t0000000000000000"], result.stdout
    assert "emptydirs-writable" in lines
    for probe in probes:
        assert f"touch: cannot touch '{probe}': {EROFS}" in result.stderr, result.stderr
        assert not probe.exists()
    mounts = [line.split(" ", 1) for line in lines[lines.index("emptydirs-writable") + 1 :]]
    writable = {target for target, options in mounts if "rw" in options.split(",")}
    assert {"/", "/tmp", DATA_DIR} <= {target for target, _ in mounts}
    assert "/" not in writable
    assert {w for w in writable if not any(w == a or w.startswith(a + "/") for a in WRITABLE)} == set()


def test_the_migrate_role_migrates_an_empty_database_and_then_finds_it_at_the_head(database_url: str) -> None:
    server = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    with migrated_database(server, revision=None) as url:
        first = run_in_sandbox(["miles", "db", "upgrade"], timeout=300, DATABASE_URL=url)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "database is up to date" in first.stdout
        again = run_in_sandbox(["miles", "db", "upgrade"], timeout=120, DATABASE_URL=url)
        assert again.returncode == 0, again.stdout + again.stderr
        engine = create_engine(sqlalchemy_url(url))
        try:
            with engine.connect() as c:
                assert (
                    c.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
                )
                assert c.execute(text("SELECT count(*) FROM programme_versions")).scalar_one() == 1
        finally:
            engine.dispose()
    for result in (first, again):
        assert EROFS not in result.stderr, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
    assert owned_by_sandbox_user(REPO, Path("/tmp")) == []


def api_key_made_by_the_cli(database_url: str) -> str:
    made = subprocess.run(
        [
            str(VENV / "bin" / "miles"),
            "apikey",
            "create",
            "sandbox",
            "-s",
            "member:write",
            "-s",
            "member:read",
        ],
        env={"PATH": "/usr/bin:/bin", "HOME": "/root", "MILES_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


def test_the_api_role_serves_two_processes_and_stops_on_sigterm(
    database_url: str, role: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    key = api_key_made_by_the_cli(database_url)
    port = free_port()
    serve = role(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"], DATABASE_URL=database_url
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, serve, timeout=90, path="/readyz")
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
        assert client.get("/healthz").status_code == 200
        enrolled = client.post(
            "/v1/members", json={"given_name": "Ro", "family_name": "Root", "email": "ro@root.example"}
        )
        assert enrolled.status_code == 201, enrolled.text
        number = enrolled.json()["member_number"]
        assert client.get(f"/v1/members/{number}").status_code == 200
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        counted = [
            line for line in metrics.text.splitlines() if line.startswith("miles_http_request_seconds_count")
        ]
        assert any('route="/v1/members"' in line and 'status="201"' in line for line in counted), counted
    # the two processes keep their metrics in files on the /tmp emptyDir
    assert list(inside(serve, "/tmp").glob("miles-metrics-*/*.db")), "no multiprocess metrics files in /tmp"
    code, seconds = stop_with_sigterm(serve, DRAIN_SECONDS + 15)
    assert code == 0
    assert_clean_log(tmp_path / "serve.log")
    print(f"\nAPI role: stopped {seconds:.2f} s after SIGTERM, exit {code}")


def night_container(database_url: str, broker_url: str) -> Container:
    container = build_container(
        database_url,
        clock=FixedClock(datetime.combine(NIGHT, day_time(3, 0), tzinfo=UTC)),
        pool_size=2,
        broker_url=broker_url,
    )
    container.nightly = NightlyConfig(chunk_size=20)
    return container


def test_the_worker_role_answers_ping_runs_the_nightly_chunks_and_stops_on_sigterm(
    database_url: str, engine: Engine, role: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    seed(engine, random_specs(60, seed_value=31))  # three chunks of 20
    with redis_server() as broker:
        worker = role(
            ["worker", "--concurrency", "2", "--name", "miles@sandbox"],
            DATABASE_URL=database_url,
            BROKER_URL=broker.url,
            CLOCK_AT=datetime.combine(NIGHT, day_time(3, 0), tzinfo=UTC).isoformat(),
            NIGHTLY_CHUNK_SIZE="20",
        )
        control = make_celery(broker.url).control
        wait_until(
            lambda: bool(control.ping(destination=["miles@sandbox"], timeout=1)), 90, "a ping answer", worker
        )
        container = night_container(database_url, broker.url)
        try:
            start_run(container, NIGHT)
        finally:
            container.engine.dispose()

        def done() -> bool:
            with engine.connect() as c:
                return c.execute(text("SELECT status FROM nightly_runs")).scalar() == "done"

        wait_until(done, 90, "the worker to finish the night", worker)
        code, seconds = stop_with_sigterm(worker, 60)
    assert code == 0
    with engine.connect() as c:
        states = c.execute(text("SELECT state, count(*) FROM nightly_chunks GROUP BY state")).all()
    assert [tuple(s) for s in states] == [("done", 3)]
    assert_clean_log(tmp_path / "worker.log")
    print(f"\nworker role: stopped {seconds:.2f} s after SIGTERM, exit {code}")


def test_the_beat_role_writes_its_schedule_in_the_data_dir_sends_jobs_and_stops_on_sigterm(
    database_url: str, role: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    with redis_server() as broker:
        client = redis.Redis.from_url(broker.url)
        beat = role(["beat"], DATABASE_URL=database_url, BROKER_URL=broker.url, LOG_LEVEL="info")
        data = inside(beat, DATA_DIR)
        wait_until(lambda: any(data.glob("beat-schedule-*")), 90, "the schedule file in the data dir", beat)
        wait_until(lambda: int(client.llen("default")) > 0, 30, "a job sent to the broker", beat)
        time.sleep(10)  # runs for a while: a sweep every 5 to 10 s, nothing fails
        sent = int(client.llen("default"))
        assert beat.poll() is None
        code, seconds = stop_with_sigterm(beat, 30)
        client.close()
    assert code == 0
    assert sent >= 2
    output = assert_clean_log(tmp_path / "beat.log")
    assert "beat" in output.lower()
    print(f"\nbeat role: {sent} jobs sent, stopped {seconds:.2f} s after SIGTERM, exit {code}")
