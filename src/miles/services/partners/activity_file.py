"""The partner activity file (DESIGN.md "Partners"): a CSV with the header line `COLUMNS`, read line by line,
never held in memory. The header is exactly `COLUMNS` or the file is refused whole; any other problem
refuses its line only: not UTF-8, not one CSV record of nine fields, a field that does not convert (named by
its column). Trailing blank lines are ignored."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from miles.domain.errors import InvalidInput, MilesError
from miles.domain.limits import control_character
from miles.domain.partners.earning import PartnerActivity

COLUMNS = (
    "member_number",
    "activity_id",
    "activity_date",
    "kind",
    "category",
    "nights",
    "days",
    "amount",
    "currency",
)
MAX_LINE_BYTES = 64 * 1024  # a longer line is refused (and never read into memory whole)
_ACTIVITY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,23}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"-?[0-9]{1,9}")
_AMOUNT = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_MEMBER_NUMBER_MAX = 32
# a plain line (ASCII, no quotes, every field as the checks below want it, no minus sign): what most files
# hold, read by one match; any other line takes the field by field path, which names what is wrong
_PLAIN = re.compile(
    r"([0-9]{1,32}),([A-Za-z0-9][A-Za-z0-9._:/-]{0,63}),([0-9]{4}-[0-9]{2}-[0-9]{2}),"
    r"([a-z][a-z0-9_]{0,23})?,([a-z][a-z0-9_]{0,23})?,([0-9]{1,9})?,([0-9]{1,9})?,"
    r"([0-9]{1,12}(?:\.[0-9]{1,2})?)?,([A-Z]{3})?",
    re.ASCII,
)
# the fields recording names after the API's shape, as the file's columns


@dataclass(frozen=True)
class FileLine:
    """A data line of the file: its activity, or why it is refused before recording."""

    line_no: int  # in the file, the header being line 1
    end_offset: int  # bytes of the file read when this line was (for progress)
    activity: PartnerActivity | None
    error: MilesError | None = None
    activity_id: str | None = None  # as the line gives it, when readable


def _header_error(message: str) -> InvalidInput:
    expected = ",".join(COLUMNS)
    return InvalidInput(
        f"{message}: the first line must be exactly {expected}", field="header", code="bad_header"
    )


def read_header(handle: BinaryIO) -> None:
    """Reads the header line; refuses the file unless it is exactly `COLUMNS`."""
    raw = handle.readline(MAX_LINE_BYTES + 1)
    if not raw.strip():
        raise _header_error("the file has no header line")
    try:
        line = raw.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
        names = next(csv.reader([line], strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise _header_error("the header line is not a UTF-8 CSV line") from None
    if tuple(names) == COLUMNS:
        return
    if not set(names) & set(COLUMNS):
        raise _header_error("the first line is not the header")
    missing = [c for c in COLUMNS if c not in names]
    unknown = [n for n in names if n not in COLUMNS]
    if missing:
        raise _header_error(f"the header misses the column(s) {', '.join(missing)}")
    if unknown:
        raise _header_error(f"the header has unknown column(s) {', '.join(repr(n) for n in unknown)}")
    raise _header_error("the header's columns are out of order or repeated")


def _physical_lines(handle: BinaryIO) -> Iterator[tuple[bytes | None, int]]:
    """Each line without its end of line (None: longer than MAX_LINE_BYTES, skipped), and the offset after it."""
    offset = handle.tell()
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        offset += len(raw)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := handle.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                offset += len(rest)
            offset += len(rest)
            yield None, offset
            continue
        yield raw.removesuffix(b"\n").removesuffix(b"\r"), offset


def data_lines(handle: BinaryIO, skip_through: int = 1) -> Iterator[FileLine]:
    """The data lines after the header (read already), from line `skip_through + 1` (those before are read,
    not parsed). A blank line is refused unless only blank lines follow it (then it is ignored)."""
    line_no = 1
    blanks_from = 0  # the first of the blank lines just read, waiting to know whether a line follows
    for raw, offset in _physical_lines(handle):
        line_no += 1
        if line_no <= skip_through:
            continue
        if raw is not None and not raw.strip():
            blanks_from = blanks_from or line_no
            continue
        for blank in range(blanks_from or line_no, line_no):
            yield FileLine(blank, offset, None, InvalidInput("an empty line", code="empty_line"))
        blanks_from = 0
        yield parse_line(line_no, raw, offset)


def _bad(column: str, code: str, message: str) -> InvalidInput:
    return InvalidInput(f"{column}: {message}", field=column, code=code)


def _text(fields: dict[str, str | None], column: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = fields[column]
    if value is not None and not pattern.fullmatch(value):
        raise _bad(column, "invalid_format", f"{value!r} is not {what}")
    return value


def _integer(fields: dict[str, str | None], column: str) -> int | None:
    value = fields[column]
    if value is None:
        return None
    if not _INTEGER.fullmatch(value):
        raise _bad(column, "invalid_integer", f"{value!r} is not a whole number")
    return int(value)


def _activity(fields: dict[str, str | None]) -> PartnerActivity:
    for column, value in fields.items():
        if value is not None and control_character(value) is not None:
            raise _bad(column, "invalid_text", "holds a control character")
    for column in ("member_number", "activity_id", "activity_date"):
        if fields[column] is None:
            raise _bad(column, "required", "is required")
    member_number = fields["member_number"] or ""
    if len(member_number) > _MEMBER_NUMBER_MAX:
        raise _bad("member_number", "too_long", f"is longer than {_MEMBER_NUMBER_MAX} characters")
    activity_id = _text(
        fields, "activity_id", _ACTIVITY_ID, "an activity id (letters, digits, ._:/-, 1 to 64)"
    )
    raw_date = fields["activity_date"] or ""
    try:
        if not _DATE.fullmatch(raw_date):
            raise ValueError
        activity_date = date.fromisoformat(raw_date)
    except ValueError:
        raise _bad("activity_date", "invalid_date", f"{raw_date!r} is not a date (YYYY-MM-DD)") from None
    kind = _text(fields, "kind", _CODE, "an activity kind code")
    category = _text(fields, "category", _CODE, "a category code")
    nights, days = _integer(fields, "nights"), _integer(fields, "days")
    raw_amount, currency = (
        fields["amount"],
        _text(fields, "currency", _CURRENCY, "a currency code (ISO 4217)"),
    )
    amount = None
    if raw_amount is not None:
        if not _AMOUNT.fullmatch(raw_amount):
            message = f"{raw_amount!r} is not an amount (at most 12 digits, a point and at most 2 decimals)"
            raise _bad("amount", "invalid_amount", message)
        amount = Decimal(raw_amount)
        if currency is None:
            raise _bad("currency", "required", "is required with an amount")
    elif currency is not None:
        raise _bad("amount", "required", "is required with a currency")
    return PartnerActivity(
        member_number=member_number,
        activity_id=activity_id or "",
        activity_date=activity_date,
        kind=kind,
        category=category,
        nights=nights,
        days=days,
        amount=amount,
        currency=currency,
    )


def _plain_activity(raw: bytes) -> PartnerActivity | None:
    """The activity of a plain line, as the field by field path reads it; None for any other line."""
    if not raw.isascii():
        return None
    plain = _PLAIN.fullmatch(raw.decode("ascii"))
    if plain is None:
        return None
    member, activity_id, day, kind, category, nights, days, amount, currency = plain.groups()
    if (amount is None) != (currency is None):
        return None
    try:
        activity_date = date.fromisoformat(day)
    except ValueError:
        return None
    return PartnerActivity(
        member_number=member,
        activity_id=activity_id,
        activity_date=activity_date,
        kind=kind,
        category=category,
        nights=None if nights is None else int(nights),
        days=None if days is None else int(days),
        amount=None if amount is None else Decimal(amount),
        currency=currency,
    )


def parse_line(line_no: int, raw: bytes | None, offset: int) -> FileLine:
    """One data line (bytes without its end of line) as an activity, or the reason it is refused."""
    if raw is not None and (activity := _plain_activity(raw)) is not None:
        return FileLine(line_no, offset, activity, None, activity.activity_id)
    return parse_fields(line_no, raw, offset)


def parse_fields(line_no: int, raw: bytes | None, offset: int) -> FileLine:
    """`parse_line` field by field: any line, the reason named when it is refused."""
    if raw is None:
        return FileLine(
            line_no, offset, None, InvalidInput(f"longer than {MAX_LINE_BYTES} bytes", code="line_too_long")
        )
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = InvalidInput(f"not UTF-8 (byte {exc.start + 1} of the line)", code="not_utf8")
        return FileLine(line_no, offset, None, error)
    try:
        values = next(csv.reader([line], strict=True))
    except csv.Error as exc:
        return FileLine(line_no, offset, None, InvalidInput(f"not a CSV line ({exc})", code="bad_csv"))
    activity_id = values[1] if len(values) > 1 and _ACTIVITY_ID.fullmatch(values[1]) else None
    if len(values) != len(COLUMNS):
        error = InvalidInput(f"{len(values)} fields where the header has {len(COLUMNS)}", code="field_count")
        return FileLine(line_no, offset, None, error, activity_id)
    fields = {column: (value if value != "" else None) for column, value in zip(COLUMNS, values, strict=True)}
    try:
        return FileLine(line_no, offset, _activity(fields), None, activity_id)
    except InvalidInput as exc:
        return FileLine(line_no, offset, None, exc, activity_id)
