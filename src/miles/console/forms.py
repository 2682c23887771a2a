"""Reading console forms: every field as text, parsed with errors collected per field so that the page
shows each one next to its field (and nothing is written while any remains)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation

from fastapi import Request

from miles.domain.errors import InvalidInput, MilesError
from miles.domain.limits import BIGINT_MAX, control_character
from miles.domain.validation import InvalidFields

MAX_FIELD = 1000
# the fields an agent may write on several lines (tab, line feed, carriage return kept)
MULTILINE_FIELDS = frozenset({"comment", "note", "reason"})


def refuse_control_characters(name: str, value: str) -> None:
    """Refuses the form (InvalidInput: the console's error page, nothing written) when a field holds a
    control character: NUL and its kin never reach the database, nor a page."""
    position = control_character(value, multiline=name in MULTILINE_FIELDS)
    if position is not None:
        raise InvalidInput(
            f"The field {name[:40]!r} holds a control character (U+{ord(value[position]):04X}) that "
            "cannot be recorded. Nothing was changed: remove it and send the form again.",
            field=name[:40],
        )


async def read_form(request: Request) -> dict[str, str]:
    form = await request.form()
    values = {k: v.strip()[:MAX_FIELD] for k, v in form.items() if isinstance(v, str)}
    for name, value in values.items():
        refuse_control_characters(name, value)
    return values


def query_line(name: str, max_length: int) -> Callable[[Request], str]:
    """A dependency reading one line of the query string (a search, a filter, a cursor): bounded, no
    control character, else an InvalidInput page naming it (never a database error)."""

    def read(request: Request) -> str:
        value = request.query_params.get(name, "")
        if len(value) > max_length:
            raise InvalidInput(f"{name!r} is at most {max_length} characters.", field=name)
        refuse_control_characters(name, value)
        return value

    return read


def query_id(name: str) -> Callable[[Request], int | None]:
    """A dependency reading a row id of the query string (a page's `before`): a whole number the bigint
    column can hold, else an InvalidInput page."""

    def read(request: Request) -> int | None:
        raw = request.query_params.get(name, "")
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= BIGINT_MAX):
            raise InvalidInput(f"{name!r} is not a position this console gave out.", field=name)
        return int(raw)

    return read


class FieldErrors:
    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def add_error(self, error: MilesError) -> None:
        if isinstance(error, InvalidFields):
            for field, message in error.by_field().items():
                self.add(field, message)
        else:
            self.add(error.field or "form", error.message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def required(self, values: dict[str, str], field: str, label: str) -> str:
        value = values.get(field, "")
        if not value:
            self.add(field, f"{label} is required")
        return value

    def integer(self, values: dict[str, str], field: str, label: str, low: int, high: int) -> int:
        raw = values.get(field, "").replace(",", "").replace("_", "").replace(" ", "")
        if not raw:
            self.add(field, f"{label} is required")
            return 0
        if not (raw.isascii() and raw.lstrip("-").isdigit()):
            self.add(field, f"{label} is a whole number")
            return 0
        value = int(raw)
        if not low <= value <= high:
            self.add(field, f"{label} is {low:,} to {high:,}")
        return value

    def iso_date(self, values: dict[str, str], field: str, label: str) -> date | None:
        raw = values.get(field, "")
        if not raw:
            self.add(field, f"{label} is required")
            return None
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
                raise ValueError(raw)
            return date.fromisoformat(raw)
        except ValueError:
            self.add(field, f"{label} is a date written YYYY-MM-DD")
            return None

    def pattern(
        self, values: dict[str, str], field: str, label: str, regex: str, hint: str, upper: bool = True
    ) -> str:
        value = values.get(field, "")
        value = value.upper() if upper else value
        if not value:
            self.add(field, f"{label} is required")
        elif not re.fullmatch(regex, value):
            self.add(field, f"{label}: {hint}")
        return value

    def money(self, values: dict[str, str], field: str, label: str) -> Decimal | None:
        raw = values.get(field, "").replace(",", "")
        if not raw:
            return None
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            self.add(field, f"{label} is an amount like 512.40")
            return None
        if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2 or amount >= 10**12:  # type: ignore[operator]
            self.add(field, f"{label} is an amount like 512.40 (at most 2 decimals)")
            return None
        return amount.quantize(Decimal("0.01"))
