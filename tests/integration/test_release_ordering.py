"""A release's ordering: readiness follows the database's schema, and migrating processes take turns."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from miles.adapters.db.engine import sqlalchemy_url
from miles.adapters.db.migrate import head_revision, migration_lock, upgrade
from miles.api.app import create_app
from miles.bootstrap import build_container
from miles.services.clock import FixedClock
from tests.conftest import migrated_database
from tests.integration.conftest import NOW


def _server(database_url: str) -> str:
    return make_url(database_url).set(database="postgres").render_as_string(hide_password=False)


def _previous_revision() -> str:
    from miles.adapters.db.migrate import _scripts

    head = _scripts().get_revision(head_revision())
    assert head is not None
    assert isinstance(head.down_revision, str)
    return head.down_revision


def _readyz(url: str) -> tuple[int, dict[str, str]]:
    container = build_container(url, clock=FixedClock(NOW), pool_size=1)
    try:
        with TestClient(create_app(container)) as tc:
            response = tc.get("/readyz")
        return response.status_code, response.json()["checks"]
    finally:
        container.engine.dispose()


def _set_revision(url: str, revision: str) -> None:
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def test_readiness_fails_behind_the_code_and_holds_at_and_ahead_of_it(database_url: str) -> None:
    previous = _previous_revision()
    with migrated_database(_server(database_url), revision=previous) as url:
        status, checks = _readyz(url)
        assert status == 503
        assert checks["database"] == "ok"
        assert checks["schema"] == f"behind: at {previous}, the code needs {head_revision()}"

        upgrade(url)
        status, checks = _readyz(url)
        assert (status, checks["schema"]) == (200, "ok")

        _set_revision(url, "9999_a_newer_release")  # a newer release migrated first; this one still serves
        status, checks = _readyz(url)
        assert status == 200
        assert checks["schema"] == "ahead: at 9999_a_newer_release, a newer release's migration"


def test_readiness_fails_on_a_database_never_migrated(database_url: str) -> None:
    with migrated_database(_server(database_url), revision=None) as url:
        status, checks = _readyz(url)
    assert status == 503
    assert checks["schema"] == f"behind: at no migration, the code needs {head_revision()}"


def test_readiness_answers_while_every_request_connection_is_taken(database_url: str) -> None:
    container = build_container(database_url, clock=FixedClock(NOW), pool_size=1)
    try:
        with TestClient(create_app(container)) as tc, container.engine.connect() as held:
            held.execute(text("SELECT 1"))  # the request pool's only connection, held by "a slow request"
            started = time.monotonic()
            response = tc.get("/readyz")
            took = time.monotonic() - started
    finally:
        container.engine.dispose()
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"
    assert took < 10  # the request pool would have made it wait its 30 s pool timeout


def test_concurrent_upgrades_take_turns_and_leave_the_database_at_the_head(database_url: str) -> None:
    with migrated_database(_server(database_url), revision=None) as url:
        with ThreadPoolExecutor(3) as pool:  # three pods' init containers starting at once
            for done in [pool.submit(upgrade, url) for _ in range(3)]:
                done.result(timeout=180)  # raises what an upgrade raised
        engine = create_engine(sqlalchemy_url(url))
        with engine.connect() as c:
            revisions = c.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        engine.dispose()
    assert revisions == [head_revision()]


def test_an_upgrade_waits_while_another_process_holds_the_migration_lock(database_url: str) -> None:
    with migrated_database(_server(database_url), revision=None) as url:
        done = threading.Event()
        with migration_lock(url):  # "another pod's init container", mid-migration
            t = threading.Thread(target=lambda: (upgrade(url), done.set()))
            t.start()
            assert not done.wait(2)  # it waits: nothing migrated under the other's feet
            engine = create_engine(sqlalchemy_url(url))
            with engine.connect() as c:
                assert c.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None
            engine.dispose()
        t.join(120)
        assert done.is_set()  # the lock released, it migrated
