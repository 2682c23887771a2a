"""Several field problems reported at once, so a form can show each one next to its field."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from miles.domain.errors import InvalidInput
from miles.domain.limits import control_character

T = TypeVar("T")


class InvalidFields(InvalidInput):
    """Every problem of one request; as an InvalidInput it names the first (what an API answers)."""

    def __init__(self, problems: list[InvalidInput]) -> None:
        first = problems[0]
        super().__init__(first.message, field=first.field, code=first.code)
        self.problems = problems

    def by_field(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for problem in self.problems:
            out.setdefault(problem.field or "form", problem.message)
        return out


class Problems:
    """Collects InvalidInput from checks; `raise_any()` raises them together."""

    def __init__(self) -> None:
        self.items: list[InvalidInput] = []

    def check(self, run: Callable[[], T]) -> T | None:
        try:
            return run()
        except InvalidFields as exc:
            self.items.extend(exc.problems)
        except InvalidInput as exc:
            self.items.append(exc)
        return None

    def add(self, message: str, field: str, code: str | None = None) -> None:
        self.items.append(InvalidInput(message, field=field, code=code))

    def raise_any(self) -> None:
        if self.items:
            raise InvalidFields(list(self.items))


def check_text(value: str, field: str, multiline: bool = False) -> str:
    """Refuses what no text column holds (NUL and the other control characters, tab and line breaks
    too unless `multiline`; lone surrogates, which have no UTF-8), whatever the entry point checked."""
    position = control_character(value, multiline)
    if position is None:
        position = next((i for i, char in enumerate(value) if "\ud800" <= char <= "\udfff"), None)
    if position is not None:
        raise InvalidInput(
            f"holds a character no text may hold (U+{ord(value[position]):04X}) at position {position}",
            field=field,
            code="invalid_text",
        )
    return value
