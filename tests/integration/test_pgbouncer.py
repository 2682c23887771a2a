"""miles behind PgBouncer in transaction pooling (deploy/: MILES_DATABASE_POOLER=pgbouncer): a private
PgBouncer (Debian's, run as the postgres user, which PgBouncer requires of a root caller) with two server
connections in front of the test database."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from miles.adapters.db.engine import make_engine
from miles.api.app import create_app
from miles.bootstrap import build_container
from miles.config import settings
from miles.services.clock import FixedClock
from tests.integration.conftest import NOW, free_port, make_key
from tests.integration.factories import coupon, enrol

SCOPES = ["member:write", "member:read", "accrual:write"]


def _pgbouncer() -> str:
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
    )
    assert found, "pgbouncer is installed on this project's machines (.ci/run installs Debian's)"
    return found


@pytest.fixture(scope="module")
def bouncer_url(database_url: str) -> Iterator[str]:
    """The test database through a PgBouncer of the test's own: transaction pooling, two server connections."""
    folder = Path(tempfile.mkdtemp(prefix="miles-pgbouncer-"))  # not under pytest's root-only folder
    url = make_url(database_url)
    port = free_port()
    (folder / "users.txt").write_text(f'"{url.username}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n{url.database} = host={url.host} port={url.port or 5432} dbname={url.database}\n"
        f"probe = host={url.host} port={url.port or 5432} dbname={url.database} pool_size=1\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder}/users.txt\npool_mode = transaction\n"
        "default_pool_size = 2\nmax_client_conn = 100\nignore_startup_parameters = extra_float_digits\n"
        f"logfile = {folder}/pgbouncer.log\n"
    )
    shutil.chown(folder, "postgres")
    for f in folder.iterdir():
        shutil.chown(f, "postgres")
    command = [_pgbouncer(), str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer will not run as root
        command = ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    through = url.set(port=port).render_as_string(hide_password=False)
    deadline = time.monotonic() + 15
    while True:
        try:
            probe = make_engine(through, pool_size=1, server_prepares=False)
            with probe.connect() as c:
                c.execute(text("SELECT 1"))
            probe.dispose()
            break
        except DBAPIError:
            assert process.poll() is None, process.stderr.read() if process.stderr else "pgbouncer exited"
            assert time.monotonic() < deadline, "pgbouncer did not answer in 15 s"
            time.sleep(0.2)
    yield through
    process.terminate()
    process.wait(10)
    shutil.rmtree(folder, ignore_errors=True)


def _hammer(engine: Engine, threads: int = 4, transactions: int = 30) -> list[str]:
    """Each thread runs the same statements in many short transactions: past psycopg's threshold (5
    executions) they would be prepared on the server connection of the moment."""

    def work(n: int) -> list[str]:
        errors = []
        for i in range(transactions):
            try:
                with engine.begin() as c:
                    c.execute(text("SELECT count(*) FROM members WHERE id > :i"), {"i": i}).scalar()
                    c.execute(text("SELECT count(*) FROM accruals WHERE member_id > :i"), {"i": n}).scalar()
            except DBAPIError as exc:
                errors.append(str(exc.orig).splitlines()[0])
        return errors

    with ThreadPoolExecutor(threads) as pool:
        return [e for errors in pool.map(work, range(threads)) for e in errors]


def test_transaction_pooling_runs_every_statement_when_miles_prepares_none(bouncer_url: str) -> None:
    engine = make_engine(bouncer_url, pool_size=4, server_prepares=False)
    try:
        assert _hammer(engine) == []
    finally:
        engine.dispose()


def test_server_side_prepares_break_behind_transaction_pooling(bouncer_url: str) -> None:
    """Why MILES_DATABASE_POOLER=pgbouncer exists: with psycopg's default, statements prepared on one
    server connection are missing (or already there) on the next."""
    engine = make_engine(bouncer_url, pool_size=4, server_prepares=True)
    try:
        errors = _hammer(engine)
    finally:
        engine.dispose()
    assert errors
    assert all("prepared statement" in e for e in errors), errors[:3]


def test_members_and_accruals_through_pgbouncer(
    bouncer_url: str, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    monkeypatch.setenv("MILES_DATABASE_POOLER", "pgbouncer")
    settings.cache_clear()
    try:
        container = build_container(bouncer_url, clock=FixedClock(NOW), pool_size=4)
        assert container.server_prepares is False
        key = make_key(container, SCOPES)
        with TestClient(create_app(container)) as tc:
            tc.headers["Authorization"] = f"Bearer {key}"
            assert tc.get("/readyz").status_code == 200
            members = [enrol(tc) for _ in range(3)]
            answers = [tc.post("/v1/accruals/flights", json=coupon(m)).status_code for m in members * 4]
        container.engine.dispose()
    finally:
        settings.cache_clear()
    assert answers == [201] * 12
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM accruals")).scalar() == 12


def test_readiness_answers_on_its_own_pgbouncer_pool_while_the_requests_hold_every_server_connection(
    bouncer_url: str,
) -> None:
    """deploy/: the probes connect to a PgBouncer database entry of their own (MILES_PROBE_DATABASE_URL), so a
    saturated request pool does not make every pod unready at once."""
    probe_url = make_url(bouncer_url).set(database="probe").render_as_string(hide_password=False)
    container = build_container(bouncer_url, clock=FixedClock(NOW), pool_size=2)
    held = make_engine(bouncer_url, pool_size=2, server_prepares=False)
    try:
        with (
            held.connect() as a,
            held.connect() as b,
        ):  # both of PgBouncer's server connections, in transactions
            a.execute(text("SELECT 1"))
            b.execute(text("SELECT 1"))
            with TestClient(create_app(container, probe_database_url=probe_url)) as tc:
                started = time.monotonic()
                response = tc.get("/readyz")
                took = time.monotonic() - started
    finally:
        held.dispose()
        container.engine.dispose()
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["schema"] == "ok"
    assert took < 2  # through the requests' entry it would queue behind the two held transactions
