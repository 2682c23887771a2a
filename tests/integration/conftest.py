"""Integration fixtures: a clean ledger per test, the app in-process, a live server, invariants after."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.adapters.db.engine import make_engine
from miles.adapters.db.ledger import PROGRAMME_ACCOUNT_SHARDS
from miles.adapters.db.tier_reached import TierReachedRepository
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.api.app import create_app
from miles.bootstrap import Container, build_container
from miles.domain.programme.model import Programme
from miles.programme.reading import read_document, read_reference
from miles.services.apikeys import SCOPES, create_key
from miles.services.clock import FixedClock

PROGRAMME_ACCOUNTS = [
    ("accrual-flight", True),
    ("goodwill", True),
    ("redemption-clearing", False),
    ("expired", False),
    ("promotion", True),
]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=20)
    yield engine
    engine.dispose()


@functools.cache
def reference_programme() -> Programme:
    return read_reference().versions[-1]


def reset(engine: Engine) -> None:
    """Every table but Alembic's emptied, the programme accounts made again with the ids they had: a
    programme account never changes its id (servers and workers of this run cache it); the tier-reached
    function the reference programme's."""
    with engine.begin() as c:
        tables = c.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ).scalars()
        kept = c.execute(
            text("SELECT id, code, shard, allow_negative FROM accounts WHERE member_id IS NULL ORDER BY id")
        ).all()
        c.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        # the programme in force is the reference again: so is the tier-reached function (a test that
        # loaded another programme made it that one's)
        TierReachedRepository(c).install(reference_programme())
        if not kept:  # a database some test emptied without this helper: as the migrations make them
            for code, negative in PROGRAMME_ACCOUNTS:
                c.execute(
                    text(
                        "INSERT INTO accounts (code, shard, allow_negative) "
                        "SELECT :c, s, :n FROM generate_series(0, :shards - 1) s"
                    ),
                    {"c": code, "n": negative, "shards": PROGRAMME_ACCOUNT_SHARDS},
                )
            return
        c.execute(
            text(
                "INSERT INTO accounts (id, code, shard, allow_negative) SELECT * FROM unnest("
                "CAST(:ids AS bigint[]), CAST(:codes AS text[]), CAST(:shards AS smallint[]), "
                "CAST(:negative AS boolean[]))"
            ),
            {
                "ids": [r.id for r in kept],
                "codes": [r.code for r in kept],
                "shards": [r.shard for r in kept],
                "negative": [r.allow_negative for r in kept],
            },
        )
        c.execute(
            text("SELECT setval(pg_get_serial_sequence('accounts', 'id'), :last)"), {"last": kept[-1].id}
        )


def lifetime_position(engine: Engine) -> int | None:
    """The position (1-based) of the programme in force's lifetime metric in the stored metrics."""
    with engine.connect() as c:
        document = c.execute(
            text("SELECT document FROM programme_versions ORDER BY id DESC LIMIT 1")
        ).scalar()
    book = read_reference() if document is None else read_document(document)
    latest = book.versions[-1]
    metric = latest.qualification.lifetime_metric
    return None if metric is None else latest.metric_codes.index(metric) + 1


def ledger_problems(engine: Engine) -> list[str]:
    """Every way the ledger could be out of balance; empty when it is sound."""
    position = lifetime_position(engine)
    lifetime = f"coalesce(sum(s.metrics[{position}]), 0)" if position else "0"
    checks = {
        "account balance != sum of its entries": """
            SELECT a.code FROM accounts a LEFT JOIN entries e ON e.account_id = a.id
            GROUP BY a.id HAVING a.balance <> coalesce(sum(e.amount), 0)""",
        "transfer without exactly two balancing entries": """
            SELECT t.id::text FROM transfers t LEFT JOIN entries e ON e.transfer_id = t.id
            GROUP BY t.id HAVING count(e.id) <> 2 OR sum(e.amount) <> 0
                OR sum(CASE WHEN e.account_id = t.to_account_id THEN e.amount END) <> t.amount""",
        "qualifying totals != sum of status credits": """
            SELECT q.member_id::text FROM qualifying_totals q LEFT JOIN status_credits s
              ON s.member_id = q.member_id AND s.period_start = q.period_start
            GROUP BY q.member_id, q.period_start, q.metrics
            HAVING q.metrics <> miles_add_metrics(array_fill(CAST(0 AS numeric), ARRAY[cardinality(q.metrics)]),
                                                  miles_sum_metrics(s.metrics))""",
        "lot remaining != amount - draws + refunds": """
            SELECT l.id::text FROM lots l
            WHERE l.remaining <> l.amount - coalesce((SELECT sum(amount) FROM lot_draws WHERE lot_id = l.id), 0)
                                          + coalesce((SELECT sum(amount) FROM lot_refunds WHERE lot_id = l.id), 0)""",
        "a debit's draw on a lot refunded beyond what it took": """
            SELECT d.lot_id::text FROM lot_draws d JOIN lot_refunds r
              ON r.lot_id = d.lot_id AND r.draw_transfer_id = d.transfer_id
            GROUP BY d.lot_id, d.transfer_id, d.amount HAVING sum(r.amount) > d.amount""",
        "account pending != sum of its open holds": """
            SELECT a.code FROM accounts a
            WHERE a.pending <> coalesce((SELECT sum(amount) FROM holds WHERE account_id = a.id AND status = 'OPEN'), 0)""",
        "redemption status disagrees with its hold": """
            SELECT r.id::text FROM redemptions r LEFT JOIN holds h ON h.redemption_id = r.id
            WHERE h.id IS NULL OR h.amount <> r.miles
               OR (r.status = 'PENDING') <> (h.status = 'OPEN')
               OR (r.status IN ('CONFIRMED', 'CANCELLED')) <> (h.status = 'POSTED')""",
        "promotion budget spent != the miles its awards gave, net": """
            SELECT p.code FROM promotions p
            WHERE p.budget_miles IS NOT NULL
              AND p.budget_spent <> coalesce((SELECT sum(miles) FROM promotion_awards WHERE promotion_id = p.id), 0)""",
        "a member's promotion miles != their awards, net": """
            SELECT pm.member_id::text FROM promotion_members pm
            WHERE pm.miles <> coalesce((SELECT sum(miles) FROM promotion_awards a
                                        WHERE a.promotion_id = pm.promotion_id AND a.member_id = pm.member_id), 0)""",
        "promotion transfers != the promotion awards": """
            SELECT t.id::text FROM transfers t LEFT JOIN promotion_awards a ON a.transfer_id = t.id
            WHERE t.code IN ('promotion_bonus', 'promotion_bonus_reversal')
              AND (a.id IS NULL OR abs(a.miles) <> t.amount OR a.promotion_id <> t.promotion_id)""",
        "a member's use of a promotion beyond its per-member limits": """
            SELECT pm.member_id::text FROM promotion_members pm JOIN promotions p ON p.id = pm.promotion_id
            WHERE pm.miles > coalesce(CAST(p.limits->>'per_member_miles' AS bigint), pm.miles)
               OR pm.times > coalesce(CAST(p.limits->>'per_member_times' AS int), pm.times)""",
        "promotion account != minus the promotion miles awarded, net": """
            SELECT 'promotion' WHERE (SELECT coalesce(sum(balance), 0) FROM accounts WHERE code = 'promotion')
                <> -(SELECT coalesce(sum(miles), 0) FROM promotion_awards)""",
        "accrual promotion miles != its awards": """
            SELECT ac.id::text FROM accruals ac
            WHERE ac.promotion_miles <> coalesce((SELECT sum(miles) FROM promotion_awards a
                                                  WHERE a.accrual_id = ac.id AND a.reverses_award_id IS NULL), 0)""",
        "partner posting transfers != the posted activities": """
            SELECT a.partner || ':' || a.activity_id FROM partner_activities a
            LEFT JOIN transfers t ON t.partner_activity_id = a.id AND t.reverses_transfer_id IS NULL
                                 AND t.promotion_id IS NULL
            LEFT JOIN transfers r ON r.partner_activity_id = a.id AND r.reverses_transfer_id IS NOT NULL
                                 AND r.promotion_id IS NULL
            WHERE (a.status IN ('posted', 'reversed') AND a.miles > 0) <> (t.id IS NOT NULL)
               OR (a.status = 'reversed' AND a.miles > 0) <> (r.id IS NOT NULL)
               OR t.amount <> a.miles OR r.amount <> a.miles OR r.reverses_transfer_id <> t.id
               OR t.code <> 'partner_accrual' OR r.code <> 'partner_accrual_reversal'""",
        "accrual-partner account != minus the partner miles posted, net": """
            SELECT 'accrual-partner' WHERE (SELECT coalesce(sum(balance), 0) FROM accounts WHERE code = 'accrual-partner')
                <> -(SELECT coalesce(sum(miles), 0) FROM partner_activities WHERE status = 'posted')""",
        "lifetime total != sum of the lifetime metric's status credits": f"""
            SELECT m.member_number FROM members m LEFT JOIN status_credits s ON s.member_id = m.id
            GROUP BY m.id HAVING m.lifetime_total <> {lifetime}""",
    }
    return failed_checks(engine, checks)


def failed_checks(engine: Engine, checks: dict[str, str]) -> list[str]:
    """Each named query that returns rows (the first ten of them): the checks it finds broken."""
    problems = []
    with engine.connect() as c:
        for name, sql in checks.items():
            bad = [r[0] for r in c.execute(text(sql))]
            if bad:
                problems.append(f"{name}: {bad[:10]}")
    return problems


@pytest.fixture(autouse=True)
def clean_ledger(engine: Engine) -> Iterator[None]:
    reset(engine)
    yield
    problems = ledger_problems(engine)
    assert not problems, problems


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def container(database_url: str, clock: FixedClock) -> Iterator[Container]:
    c = build_container(database_url, clock=clock, pool_size=5)
    yield c
    c.engine.dispose()


@pytest.fixture
def uow(container: Container) -> Iterator[UnitOfWork]:
    with container.uow() as uow:
        yield uow


def make_key(container: Container, scopes: list[str]) -> str:
    return create_key(container, "test", scopes)


@pytest.fixture
def api_key(container: Container) -> str:
    return make_key(container, list(SCOPES))


@pytest.fixture
def client(container: Container, api_key: str) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as tc:
        tc.headers["Authorization"] = f"Bearer {api_key}"
        yield tc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(
    base: str, process: subprocess.Popen[bytes], timeout: float = 30, path: str = "/healthz"
) -> None:
    """Wait until a `miles serve` process answers 200 on `path`; fail if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}{path}", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"miles serve did not answer {path} in {timeout:.0f} s")
        time.sleep(0.2)


@contextmanager
def served(database_url: str, **env: str) -> Iterator[str]:
    """A real `miles serve --workers 2` process on a free port against the database, with `env` set."""
    port = free_port()
    full = {**os.environ, "MILES_DATABASE_URL": database_url, "MILES_LOG_LEVEL": "warning", **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "miles.cli", "serve", "--port", str(port), "--workers", "2"], env=full
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[str]:
    """A real `miles serve` process against the test database, for the whole run. It runs no periodic jobs
    (MILES_HOUSEKEEPING=false): its sweeps, on the real clock, would settle the sagas that other tests hold
    on clocks of their own in the same database."""
    with served(database_url, MILES_HOUSEKEEPING="false") as base:
        yield base


@pytest.fixture
def live_server_with_housekeeping(database_url: str) -> Iterator[str]:
    """A real `miles serve` process for one test, running the periodic jobs as the embedded default does."""
    with served(database_url) as base:
        yield base
