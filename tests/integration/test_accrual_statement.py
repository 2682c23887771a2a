"""The statement that records accruals stays small enough for psycopg to cache its parse."""

from __future__ import annotations

import pytest
from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS

from miles.adapters.db.accrual_writes import RECORD_MANY, RECORD_ONE


@pytest.mark.parametrize(("statement", "names"), [RECORD_ONE, RECORD_MANY], ids=["one", "many"])
def test_the_accrual_statement_fits_the_limits_of_psycopgs_parse_cache(
    statement: str, names: tuple[str, ...]
) -> None:
    assert len(statement.encode()) <= MAX_CACHED_STATEMENT_LENGTH
    assert len(names) <= MAX_CACHED_STATEMENT_PARAMS
    assert statement.count("%b") + statement.count("%s") == len(names)
