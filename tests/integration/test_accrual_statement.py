"""The statement that records accruals stays small enough for psycopg to cache its parse, for programmes
of up to three qualifying metrics (every shipped one; with more, the statement is parsed on each call)."""

from __future__ import annotations

import pytest
from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS

from miles.adapters.db.accrual_writes import record_statement


@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("many", [False, True], ids=["one", "many"])
def test_the_accrual_statement_fits_the_limits_of_psycopgs_parse_cache(width: int, many: bool) -> None:
    statement, names = record_statement(width, many)
    assert len(statement.encode()) <= MAX_CACHED_STATEMENT_LENGTH
    assert len(names) <= MAX_CACHED_STATEMENT_PARAMS
    assert statement.count("%b") + statement.count("%s") == len(names)
