"""The programme accounts' ids are cached by database: a process that works on two databases (a server
and its tests, a tool moving between environments) never posts to an id it read from the other one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from miles.adapters.db.engine import make_engine
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.ledger import GOODWILL
from tests.conftest import migrated_database
from tests.integration.conftest import reset


@pytest.fixture
def other_engine(database_url: str) -> Iterator[Engine]:
    """A second migrated database whose programme accounts have other ids than the first one's."""
    with migrated_database(database_url) as url:
        engine = make_engine(url, pool_size=2)
        with engine.begin() as c:  # move every programme account to new ids
            c.execute(text("UPDATE accounts SET id = id + 1000 WHERE member_id IS NULL"))
            c.execute(text("SELECT setval(pg_get_serial_sequence('accounts', 'id'), 5000)"))
        yield engine
        engine.dispose()


def goodwill_accounts(engine: Engine) -> list[int]:
    with engine.connect() as c:
        return list(
            c.execute(
                text("SELECT id FROM accounts WHERE code = :c ORDER BY shard"), {"c": GOODWILL}
            ).scalars()
        )


def test_each_database_gets_its_own_programme_account_ids(engine: Engine, other_engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        first = [uow.ledger.programme_account(GOODWILL, shard) for shard in range(3)]
    with UnitOfWork(other_engine) as uow:
        other = [uow.ledger.programme_account(GOODWILL, shard) for shard in range(3)]
    assert first == goodwill_accounts(engine)[:3]
    assert other == goodwill_accounts(other_engine)[:3]
    assert set(first).isdisjoint(other)


def test_a_reset_between_tests_keeps_the_programme_account_ids(engine: Engine) -> None:
    before = goodwill_accounts(engine)
    with UnitOfWork(engine) as uow:
        cached = uow.ledger.programme_account(GOODWILL, 5)
    reset(engine)
    assert goodwill_accounts(engine) == before
    with UnitOfWork(engine) as uow:
        assert uow.ledger.programme_account(GOODWILL, 5) == cached == before[5]
