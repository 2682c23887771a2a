"""Several field problems reported at once, so a form can show each one next to its field."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import TypeVar

from miles.domain.errors import InvalidInput

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


LINE_BREAKS = frozenset("\n\r\t")


def check_text(value: str, field: str, multiline: bool = False) -> str:
    """Refuses NUL and every other control character (tab and line breaks too unless `multiline`), and
    lone surrogates: no database column holds them, and no person types them."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs") and not (multiline and char in LINE_BREAKS):
            raise InvalidInput(
                f"control character U+{ord(char):04X} is not allowed here", field=field, code="invalid_text"
            )
    return value
