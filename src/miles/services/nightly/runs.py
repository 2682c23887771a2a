"""Starting the nightly run of a date, and finding its lost chunks.

A run is one row per programme and run date (unique): the start that inserts it also cuts the members
into id-range chunks, finds with one set-based statement the members each chunk has something to do for
(its candidates), and queues one job per chunk through the transactional outbox, all in one
transaction. Any other start of the same night (a second beat, a retry, a duplicate delivery, the CLI)
finds the row and joins it: it never plans or queues the night again. The reconciler queues again the
chunks left pending by a dead worker or a lost message.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from functools import cache

from miles.adapters.db.expiry import ExpiryRepository
from miles.adapters.db.nightly_runs import NightlyRunRepository, RunRow
from miles.adapters.db.requalification import RequalificationRepository
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import Conflict, InvalidInput
from miles.domain.programme.model import Programme
from miles.programme.reading import ProgrammeBook, read_document, read_reference
from miles.services.clock import Clock, today
from miles.services.nightly.config import NightlyConfig
from miles.services.partners.posting import due_candidates
from miles.services.programmes import ensure_programme
from miles.services.promotions.birthdays import birthday_candidates
from miles.services.runtime import Runtime, job
from miles.services.segments import hold_segment_writers_off, plan_vip_threshold

log = logging.getLogger("miles.nightly")

START_JOB = "miles.nightly.start"
CHUNK_JOB = "miles.nightly.chunk"
RECONCILE_JOB = "miles.nightly.reconcile"
WARNINGS_JOB = "miles.nightly.warnings"


@dataclass(frozen=True)
class RunStart:
    run_id: int
    programme: str
    run_date: date
    created: bool  # False: the run of this night existed already, and was joined
    chunks: int
    status: str


def default_run_date(uow: UnitOfWork, clock: Clock) -> date:
    """Tonight's run date: today on the clock, in the programme's time zone."""
    book = _book(uow, uow.programmes.latest_id())
    return today(clock, book.in_force(clock.now().date()).timezone)


# parsed programme documents by their digest: a version's id names another document in another database
# (or after a test empties this one), its digest never does
_BOOKS: dict[str, ProgrammeBook] = {}


@cache
def _reference() -> ProgrammeBook:
    return read_reference()


def _book(uow: UnitOfWork, version_id: int | None) -> ProgrammeBook:
    if version_id is None:
        return _reference()
    digest, document = uow.programmes.document(version_id)
    book = _BOOKS.get(digest)
    if book is None:
        book = _BOOKS.setdefault(digest, read_document(document))
    return book


def programme_name(uow: UnitOfWork) -> str:
    """The name of the programme in force (the runs are keyed by it)."""
    return _book(uow, uow.programmes.latest_id()).name


def programme_of_run(uow: UnitOfWork, run: RunRow) -> Programme:
    """The rules the run was started with (a programme loaded during the run does not change it)."""
    return _book(uow, run.programme_version_id).in_force(run.run_date)


def start_run(runtime: Runtime, run_date: date | None = None) -> RunStart:
    """Start the run of `run_date` (default: today in the programme's time zone), or join it."""
    with runtime.uow() as uow:
        return _start_run(uow, runtime.clock, runtime.nightly, run_date)


def _start_run(uow: UnitOfWork, clock: Clock, config: NightlyConfig, run_date: date | None) -> RunStart:
    started = time.perf_counter()
    version_id = uow.programmes.latest_id()
    book = _book(uow, version_id)
    if run_date is None:
        run_date = default_run_date(uow, clock)
    programme = book.in_force(run_date)
    if run_date > today(clock, programme.timezone):
        raise InvalidInput(
            f"the run date {run_date} is in the future in {programme.timezone}", field="run_date"
        )
    runs = NightlyRunRepository(uow.connection)
    existing = runs.find(book.name, run_date)
    if existing is not None:
        return RunStart(existing.id, book.name, run_date, False, existing.chunks, existing.status)
    latest = runs.latest_date()
    if latest is not None and latest > run_date:
        raise Conflict(
            f"the night of {latest} ran already: runs go forward, {run_date} is covered by it",
            code="later_run_exists",
        )
    hold_segment_writers_off(uow)  # a chunk of an earlier night still writing segments commits first
    run_id = runs.create(book.name, run_date, version_id, programme.expiry.kind.value, config.chunk_size)
    if run_id is None:  # a concurrent start made it first
        existing = runs.find(book.name, run_date)
        assert existing is not None
        return RunStart(existing.id, book.name, run_date, False, existing.chunks, existing.status)
    first_member_id, chunks = runs.plan_chunks(run_id, config.chunk_size)
    requalification = RequalificationRepository(uow.connection, programme, run_date)
    if not requalification.reads_stored:
        log.warning(
            "the periods' stored tiers reached are not of the thresholds in force on %s: the night reads "
            "every period's metrics instead (`miles db upgrade` writes them for the thresholds in force)",
            run_date,
        )
    expiry = ExpiryRepository(uow.connection, programme, run_date)
    warning = expiry.warning_candidates_sql()
    birthdays, birthday_params = birthday_candidates(uow, run_date, clock.now())
    partner_due, partner_params = due_candidates(run_date)
    candidates = runs.plan_candidates(
        run_id,
        first_member_id,
        config.chunk_size,
        chunks,
        standing=[requalification.candidates_sql(), expiry.candidates_sql(), *birthdays, *partner_due],
        warning=[] if warning is None else [warning],
        params=requalification.params | expiry.params | birthday_params | partner_params,
    )
    plan_vip_threshold(uow, programme, run_id, run_date)  # once per night, over every member
    for chunk_no in range(chunks):
        uow.outbox.add(CHUNK_JOB, {"run_id": run_id, "chunk_no": chunk_no})
    runs.set_plan_ms(run_id, int((time.perf_counter() - started) * 1000))
    log.info(
        "nightly run %s of %s started: %d chunks, %d members to look at",
        run_date,
        book.name,
        chunks,
        candidates,
    )
    return RunStart(run_id, book.name, run_date, True, chunks, "running")


def requeue_lost_chunks(runtime: Runtime) -> list[tuple[int, int]]:
    """Queue again the pending chunks queued more than the nightly `stale_seconds` ago that no worker is
    doing (the reconciler, and `miles nightly` joining a run the workers do)."""
    with runtime.uow() as uow:
        lost = NightlyRunRepository(uow.connection).requeue_stale(runtime.nightly.stale_seconds)
        for run_id, chunk_no in lost:
            uow.outbox.add(CHUNK_JOB, {"run_id": run_id, "chunk_no": chunk_no})
    if lost:
        log.warning("queued %d lost nightly chunk(s) again: %s", len(lost), lost[:20])
    return lost


def resume_run(runtime: Runtime, run_id: int) -> list[int]:
    """Queue again, now, every pending chunk of the run that no worker is doing (a run joined by
    `miles nightly` after an earlier attempt died, with no reconciler running)."""
    with runtime.uow() as uow:
        chunks = NightlyRunRepository(uow.connection).requeue_stale(0, run_id=run_id)
        for _, chunk_no in chunks:
            uow.outbox.add(CHUNK_JOB, {"run_id": run_id, "chunk_no": chunk_no})
    return [c for _, c in chunks]


@job(START_JOB)
def start_job(runtime: Runtime, run_date: str | None = None) -> dict[str, object]:
    """Beat's 02:00 entry: the run of today in the programme's time zone (or of `run_date`). First, when a
    programme version with other thresholds has taken effect, the periods' tiers reached are written for it
    (accruals wait meanwhile, once), so that the night reads them instead of every period's metrics."""
    day = date.fromisoformat(run_date) if run_date else None
    ensure_programme(runtime)  # logs the periods it writes again
    start = start_run(runtime, day)
    if not start.created:
        log.info(
            "nightly run %s of %s exists already (%s): joined", start.run_date, start.programme, start.status
        )
    return {"run_id": start.run_id, "created": start.created, "chunks": start.chunks}


@job(RECONCILE_JOB)
def reconcile_job(runtime: Runtime) -> int:
    return len(requeue_lost_chunks(runtime))
