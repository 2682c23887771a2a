"""Importing a partner's activity file (DESIGN.md "Partners"; its format: `activity_file.py`), streamed, never
held in memory.

- The file is refused as a whole (nothing written) for an unknown partner or a header that is not exactly
  the contract's. Any other problem refuses its line only: what reading it refuses, or what recording the
  activity refuses (unknown member, earning rules, another body under a recorded activity id).
- The import is keyed by partner and the sha256 of the file's bytes, and recorded by `jobs` connections at
  once, each its share of the members (`import_shares.py`). Each chunk of a share's lines is recorded, with
  its refused lines and the counters, in one transaction: after a crash, a run again resumes each share
  after the lines it had done; a finished import run again only reports its totals. Activities recorded
  before (by the API or another file) answer as replays: nothing ever doubles. One activity id on lines of
  two members falls to two shares: which line is recorded (the other answers as a conflict) is then the
  one that commits first, not always the first in the file.
- The report of refused lines is written at the end from the database, so it is whole after a resume.
"""

from __future__ import annotations

import csv
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from miles.adapters.db.partners.imports import ChunkCounts, ImportRow, PartnerImportRepository, Refusal
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import Conflict, InvalidInput, MilesError
from miles.services.accruals import retry_raced
from miles.services.partners.activities import (
    CREATED,
    REPLAYED,
    ActivityRequest,
    contract_of,
    programme_now,
    record_in,
)
from miles.services.partners.activity_file import FileLine, data_lines, read_header
from miles.services.partners.import_shares import dispatch, record_shares, share_of
from miles.services.runtime import Runtime

REPORT_COLUMNS = ("line_no", "activity_id", "field", "code", "reason")
DEFAULT_CHUNK = 5_000
MAX_CHUNK = 10_000
DEFAULT_JOBS = 2
MAX_JOBS = 8  # as the shares the database allows an import
BLOCK_BYTES = 1 << 20

_FIELD_COLUMNS = {"amount.amount": "amount", "amount.currency": "currency"}


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
    uow: UnitOfWork,
    runtime: Runtime,
    partner: str,
    import_id: int,
    share: int,
    from_line: int,
    chunk: list[FileLine],
) -> ChunkCounts:
    """A share's chunk: its activities, refusals and counters in the caller's unit of work."""
    imports = PartnerImportRepository(uow.connection)
    if imports.lock_part(import_id, share).through_line != from_line:
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
    if not imports.advance(import_id, share, from_line, chunk[-1].line_no, counts):
        raise AssertionError("the import's share moved while it was locked")
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


class Progress:
    """What the shares have committed, told to `on_progress` after each chunk (one at a time)."""

    def __init__(self, plan: ImportPlan, on_progress: Callable[[ImportProgress], None] | None) -> None:
        self.lines_done, self.size, self.on_progress = plan.resumed_after, plan.size, on_progress
        self.offsets = [
            plan.start_offset
        ] * plan.shares  # bytes read when each share's last committed line was
        self.lock = threading.Lock()

    def tell(self) -> None:
        if self.on_progress is not None:
            self.on_progress(ImportProgress(self.lines_done, min(self.offsets), self.size))

    def chunk_done(self, share: int, lines: int, end_offset: int) -> None:
        with self.lock:
            self.lines_done += lines
            self.offsets[share] = end_offset
            self.tell()

    def share_done(self, share: int) -> None:
        with self.lock:
            self.offsets[share] = self.size

    def all_done(self) -> None:
        with self.lock:
            self.offsets = [self.size] * len(self.offsets)
            self.tell()


@dataclass(frozen=True)
class ImportPlan:
    """An import begun (or resumed): what each share has still to do. Plain values, so that a share can be
    recorded in another process."""

    import_id: int
    partner: str
    path: Path
    shares: int
    marks: tuple[int, ...]  # each share's last line done
    resumed_after: int  # data lines done before this run
    start_offset: int  # bytes of the file a run before has surely done (for the progress bar)
    size: int
    chunk_size: int


def begin_import(
    runtime: Runtime, partner: str, path: Path, chunk_size: int, jobs: int
) -> tuple[ImportRow, ImportPlan]:
    """The import of this file by this partner, made now in `jobs` shares or found (a resume keeps the
    shares it began with); the file is refused whole for an unknown partner or a wrong header."""
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise InvalidInput(f"the chunk size is 1 to {MAX_CHUNK}", field="chunk_size", code="out_of_range")
    if not 1 <= jobs <= MAX_JOBS:
        raise InvalidInput(f"the jobs are 1 to {MAX_JOBS}", field="jobs", code="out_of_range")
    with runtime.uow() as uow:
        contract_of(programme_now(runtime.catalog.current(uow), runtime.clock), partner)
    digest, size = file_digest(path)
    with path.open("rb") as handle:
        read_header(handle)
        header_end = handle.tell()
    with runtime.uow() as uow:
        imports = PartnerImportRepository(uow.connection)
        row = imports.open(partner, path.name[-1000:], digest, runtime.clock.now(), jobs)
        parts = imports.parts(row.id)
    done = sum(part.lines_done for part in parts)
    plan = ImportPlan(
        import_id=row.id,
        partner=partner,
        path=path,
        shares=row.parts,
        marks=tuple(part.through_line for part in parts),
        resumed_after=done,
        start_offset=header_end if done == 0 else 0,
        size=size,
        chunk_size=chunk_size,
    )
    return row, plan


def record_chunk(
    runtime: Runtime, plan: ImportPlan, share: int, from_line: int, chunk: list[FileLine]
) -> int:
    """One chunk of a share's lines in its own transaction (run again afresh when a concurrent request
    recorded one of its activities meanwhile); the lines it covers."""
    work = partial(
        _record_chunk,
        runtime=runtime,
        partner=plan.partner,
        import_id=plan.import_id,
        share=share,
        from_line=from_line,
        chunk=chunk,
    )
    return retry_raced(runtime.uow, work).lines


def record_share(
    runtime: Runtime, plan: ImportPlan, share: int, on_chunk: Callable[[int, int], None] | None = None
) -> None:
    """Every line of one share still to do, in file order (the file read, and parsed ahead by a thread,
    in this process); `on_chunk(lines, end_offset)` after each chunk committed."""
    mark = plan.marks[share]
    with plan.path.open("rb") as handle:
        read_header(handle)
        mine = (
            line for line in data_lines(handle, skip_through=mark) if share_of(line, plan.shares) == share
        )

        def record(_: int, chunk: list[FileLine]) -> None:
            nonlocal mark
            lines = record_chunk(runtime, plan, share, mark, chunk)
            mark = chunk[-1].line_no
            if on_chunk is not None:
                on_chunk(lines, chunk[-1].end_offset)

        record_shares(dispatch(mine, [mark], plan.chunk_size), 1, record, lambda _: None)


def finish_import(runtime: Runtime, plan: ImportPlan, report: Path) -> ImportOutcome:
    """Every share done: the import's totals, its report written."""
    with runtime.uow() as uow:
        row = PartnerImportRepository(uow.connection).finish(plan.import_id, runtime.clock.now())
    write_report(runtime, row.id, report)
    return _outcome(row, False, plan.resumed_after, report)


def import_file(
    runtime: Runtime,
    partner: str,
    path: Path,
    report: Path,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[ImportProgress], None] | None = None,
    jobs: int = DEFAULT_JOBS,
) -> ImportOutcome:
    """Import `path` for `partner` (or resume or report it) in this process, writing its refused lines to
    `report`, on `jobs` connections at once (one thread each; `import_processes.py` runs them as processes).
    `on_progress` is called before the first chunk and after each chunk is committed (from the recording
    threads, one call at a time)."""
    row, plan = begin_import(runtime, partner, path, chunk_size, jobs)
    if row.finished_at is not None:
        return report_again(runtime, row, report)
    progress = Progress(plan, on_progress)
    progress.tell()
    marks = list(plan.marks)

    def record(share: int, chunk: list[FileLine]) -> None:
        lines = record_chunk(runtime, plan, share, marks[share], chunk)
        marks[share] = chunk[-1].line_no
        progress.chunk_done(share, lines, chunk[-1].end_offset)

    with path.open("rb") as handle:
        read_header(handle)
        lines = data_lines(handle, skip_through=min(marks))
        record_shares(dispatch(lines, list(marks), chunk_size), plan.shares, record, progress.share_done)
    progress.all_done()
    return finish_import(runtime, plan, report)


def report_again(runtime: Runtime, row: ImportRow, report: Path) -> ImportOutcome:
    """A file imported whole before: its report written again, nothing else done."""
    write_report(runtime, row.id, report)
    return _outcome(row, True, row.lines_done, report)
