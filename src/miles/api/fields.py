"""Field types of the API's requests, bounded by what their columns hold: text without control
characters (PostgreSQL refuses NUL; the rest have no place in a name, an e-mail or a reason), ids within
bigint, dates within what the statement's arithmetic and the columns take. Each refusal is a 422 naming
the field, before the database sees the value."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Header, Path
from pydantic import AfterValidator, BeforeValidator, Field

from miles.domain.limits import BIGINT_MAX, control_character

# the same rules as JSON Schema patterns, so that the document says what the server accepts
LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"
MULTILINE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"


def _line(value: str) -> str:
    position = control_character(value)
    if position is not None:
        raise ValueError(f"holds a control character (U+{ord(value[position]):04X}) at position {position}")
    return value


def _lines(value: str) -> str:
    position = control_character(value, multiline=True)
    if position is not None:
        raise ValueError(f"holds a control character (U+{ord(value[position]):04X}) at position {position}")
    return value


def text(max_length: int, min_length: int | None = None, multiline: bool = False, **extra: Any) -> Any:
    """The Field of a text of at most `max_length` characters, free of control characters (and so
    documented: its JSON Schema pattern says the same)."""
    return Field(
        min_length=min_length,
        max_length=max_length,
        json_schema_extra={"pattern": MULTILINE_PATTERN if multiline else LINE_PATTERN},
        **extra,
    )


# one line of text (names, e-mail addresses, numbers, codes, reasons)
Line = Annotated[str, AfterValidator(_line)]
# text that may span lines (comments, notes): tab, LF and CR allowed, no other control character
Lines = Annotated[str, AfterValidator(_lines)]

# the earliest and latest day a statement bound can name: no event of the ledger lies outside, and the
# day after the latest is still a date (a `to` of 9999-12-31 means "no end" and is taken as this one)
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9998, 12, 31)


def _within_calendar(value: date | None) -> date | None:
    if value is None:
        return None
    return min(max(value, FIRST_DAY), LAST_DAY)


StatementDay = Annotated[date | None, AfterValidator(_within_calendar)]


def _written_as_a_day(value: Any) -> Any:
    """A day is written YYYY-MM-DD: pydantic's lax dates would take "0.0" or "1700000000" as a timestamp."""
    if isinstance(value, str) and not (len(value) == 10 and value[4] == "-" and value[7] == "-"):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


# a day in a query: YYYY-MM-DD only, within the calendar the columns take
QueryDay = Annotated[date, BeforeValidator(_written_as_a_day), AfterValidator(_within_calendar)]

# a row id in a path: a bigint column, never past it
RowId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="the id the API answered with")]

# the Idempotency-Key header: any unique string of printable characters, sent again with a retry
IdempotencyKey = Annotated[
    Line | None,
    Header(
        max_length=200,
        description="any unique string (a UUID will do): a retry with the same key and body is answered "
        "as the first request was, without doing it again; the same key with another body is a 409",
    ),
]
