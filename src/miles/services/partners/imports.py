"""Importing a partner's activity file (DESIGN.md "Partners"): a CSV with the header line `COLUMNS`, streamed
line by line, never held in memory.

- The file is refused as a whole (nothing written) for an unknown partner or a header that is not exactly
  `COLUMNS`. Any other problem refuses its line only: not UTF-8, not one CSV record of nine fields, a field
  that does not convert (named by its column), or what recording the activity refuses (unknown member,
  earning rules, another body under a recorded activity id). Trailing blank lines are ignored.
- The import is keyed by partner and the sha256 of the file's bytes. Each chunk of lines is recorded, with
  its refused lines and the import's counters, in one transaction: after a crash, a run again resumes after
  the lines done; a finished import run again only reports its totals. Activities recorded before (by the
  API or another file) answer as replays: nothing ever doubles.
- The report of refused lines is written at the end from the database, so it is whole after a resume.
"""

from __future__ import annotations

import csv
import hashlib
import os
import queue
import re
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from miles.adapters.db.partners.imports import ChunkCounts, ImportRow, PartnerImportRepository, Refusal
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import Conflict, InvalidInput, MilesError
from miles.domain.limits import control_character
from miles.domain.partners.earning import PartnerActivity
from miles.services.accruals import retry_raced
from miles.services.partners.activities import (
    CREATED,
    REPLAYED,
    ActivityRequest,
    contract_of,
    programme_now,
    record_in,
)
from miles.services.runtime import Runtime

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
REPORT_COLUMNS = ("line_no", "activity_id", "field", "code", "reason")
DEFAULT_CHUNK = 5_000
MAX_CHUNK = 10_000
MAX_LINE_BYTES = 64 * 1024  # a longer line is refused (and never read into memory whole)
BLOCK_BYTES = 1 << 20

_ACTIVITY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,23}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"-?[0-9]{1,9}")
_AMOUNT = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_MEMBER_NUMBER_MAX = 32
# the fields recording names after the API's shape, as the file's columns
_FIELD_COLUMNS = {"amount.amount": "amount", "amount.currency": "currency"}


@dataclass(frozen=True)
class FileLine:
    """A data line of the file: its activity, or why it is refused before recording."""

    line_no: int  # in the file, the header being line 1
    end_offset: int  # bytes of the file read when this line was (for progress)
    activity: PartnerActivity | None
    error: MilesError | None = None
    activity_id: str | None = None  # as the line gives it, when readable


@dataclass(frozen=True)
class ImportProgress:
    lines_done: int
    bytes_done: int
    bytes_total: int


@dataclass(frozen=True)
class ImportOutcome:
    partner: str
    file_digest: str
    lines: int  # data lines done (imported + replayed + refused)
    imported: int
    replayed: int
    refused: int
    miles: int  # miles of the activities this file recorded
    already_imported: bool  # the file was imported whole before: nothing was done but the report
    resumed_after: int  # data lines a run before had done
    report: Path


def file_digest(path: Path) -> tuple[str, int]:
    """The sha256 (hex) of the file's bytes, and its size, read a block at a time."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


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


def parse_line(line_no: int, raw: bytes | None, offset: int) -> FileLine:
    """One data line (bytes without its end of line) as an activity, or the reason it is refused."""
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


def read_ahead(chunks: Iterator[list[FileLine]], depth: int = 2) -> Generator[list[FileLine], None, None]:
    """The chunks in order, read and parsed by a thread up to `depth` ahead while the caller records the
    one before (psycopg lets the parser run while it waits on PostgreSQL). A reading error is raised
    where the chunk it stopped would have come; leaving early stops the thread before returning."""
    ahead: queue.Queue[list[FileLine] | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: list[FileLine] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for chunk in chunks:
                if not hand_over(chunk):
                    return
            hand_over(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
            hand_over(exc)

    reader = threading.Thread(target=read, name="partner-import-reader", daemon=True)
    reader.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _refusal(line: FileLine, error: MilesError | None) -> Refusal:
    field = None if error is None or error.field is None else _FIELD_COLUMNS.get(error.field, error.field)
    return Refusal(
        line_no=line.line_no,
        activity_id=line.activity.activity_id if line.activity is not None else line.activity_id,
        field=field,
        code=error.code if error is not None else "refused",
        reason=error.message if error is not None else "refused",
    )


def _record_chunk(
    uow: UnitOfWork, runtime: Runtime, partner: str, import_id: int, from_lines: int, chunk: list[FileLine]
) -> ChunkCounts:
    """A chunk's activities, refusals and counters in the caller's unit of work."""
    imports = PartnerImportRepository(uow.connection)
    row = imports.get(import_id, lock=True)
    if row.lines_done != from_lines or row.finished_at is not None:
        raise Conflict(
            "this file is being imported by another run at the same time: let it finish",
            code="import_running",
        )
    requests = [ActivityRequest(i, line.activity, line.error) for i, line in enumerate(chunk)]
    results = record_in(uow, runtime, partner, requests, channel="file")
    imported = replayed = miles = 0
    refusals: list[Refusal] = []
    for line, result in zip(chunk, results, strict=True):
        if result.status == CREATED and result.activity is not None:
            imported += 1
            miles += result.activity.miles
        elif result.status == REPLAYED:
            replayed += 1
        else:
            refusals.append(_refusal(line, result.error))
    counts = ChunkCounts(len(chunk), imported, replayed, len(refusals), miles)
    imports.add_refusals(import_id, refusals)
    if not imports.advance(import_id, from_lines, counts):
        raise AssertionError("the import row moved while it was locked")
    return counts


def write_report(runtime: Runtime, import_id: int, report: Path) -> None:
    """The import's refused lines as CSV (`REPORT_COLUMNS`), streamed from the database into `report`
    (written beside it, then moved in place)."""
    partial_file = report.with_name(report.name + ".partial")
    with runtime.uow() as uow, partial_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for r in PartnerImportRepository(uow.connection).refusals(import_id):
            writer.writerow([r.line_no, r.activity_id or "", r.field or "", r.code, r.reason])
    os.replace(partial_file, report)


def _outcome(row: ImportRow, already: bool, resumed_after: int, report: Path) -> ImportOutcome:
    return ImportOutcome(
        partner=row.partner,
        file_digest=row.file_digest,
        lines=row.lines_done,
        imported=row.imported,
        replayed=row.replayed,
        refused=row.refused,
        miles=row.miles,
        already_imported=already,
        resumed_after=resumed_after,
        report=report,
    )


def import_file(
    runtime: Runtime,
    partner: str,
    path: Path,
    report: Path,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[ImportProgress], None] | None = None,
) -> ImportOutcome:
    """Import `path` for `partner` (or resume or report it), writing its refused lines to `report`.
    `on_progress` is called before the first chunk and after each chunk is committed."""
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise InvalidInput(f"the chunk size is 1 to {MAX_CHUNK}", field="chunk_size", code="out_of_range")
    with runtime.uow() as uow:
        contract_of(programme_now(runtime.catalog.current(uow), runtime.clock), partner)
    digest, size = file_digest(path)
    with path.open("rb") as handle:
        read_header(handle)
        with runtime.uow() as uow:
            row = PartnerImportRepository(uow.connection).open(
                partner, path.name[-1000:], digest, runtime.clock.now()
            )
        if row.finished_at is not None:
            write_report(runtime, row.id, report)
            return _outcome(row, True, row.lines_done, report)
        resumed_after = lines_done = row.lines_done
        if on_progress is not None:
            on_progress(ImportProgress(lines_done, handle.tell() if lines_done == 0 else 0, size))
        lines = data_lines(handle, skip_through=lines_done + 1)
        chunks = read_ahead(iter(lambda: list(islice(lines, chunk_size)), []))
        with closing(chunks):  # the reader stops before the file closes, whatever happens
            for chunk in chunks:
                work = partial(
                    _record_chunk,
                    runtime=runtime,
                    partner=partner,
                    import_id=row.id,
                    from_lines=lines_done,
                    chunk=chunk,
                )
                lines_done += retry_raced(runtime.uow, work).lines
                if on_progress is not None:
                    on_progress(ImportProgress(lines_done, chunk[-1].end_offset, size))
    if on_progress is not None:
        on_progress(ImportProgress(lines_done, size, size))
    with runtime.uow() as uow:
        row = PartnerImportRepository(uow.connection).finish(row.id, runtime.clock.now())
    write_report(runtime, row.id, report)
    return _outcome(row, False, resumed_after, report)
