"""Reading console forms: every field as text, parsed with errors collected per field so that the page
shows each one next to its field (and nothing is written while any remains)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from fastapi import Request

from miles.domain.errors import MilesError
from miles.domain.validation import InvalidFields

MAX_FIELD = 1000


async def read_form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip()[:MAX_FIELD] for k, v in form.items() if isinstance(v, str)}


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
