"""The run report: what a night did, summed from its chunks (the CLI prints it, the API returns it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from miles.adapters.db.nightly_runs import NightlyRunRepository, RunRow
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import NotFound
from miles.services.nightly.runs import programme_name

if TYPE_CHECKING:
    from miles.services.runtime import Runtime


@dataclass(frozen=True)
class MembersReport:
    processed: int  # members in the chunks done
    requalified: int  # members whose tier had expired
    kept: int  # of those, members who kept their tier (with a new valid-until)
    up: int  # members whose tier went up (requalified higher, an unapplied upgrade, a lifetime tier)
    down: int  # members whose tier went down
    lifetime_grants: int  # members who reached a lifetime tier


@dataclass(frozen=True)
class ExpiryReport:
    policy: str
    members: int
    lots: int
    miles: int


@dataclass(frozen=True)
class PhasesReport:
    """Milliseconds: planning once, and each phase summed over the chunks (worker time, not wall time)."""

    plan_ms: int
    requalification_ms: int
    expiry_ms: int
    warnings_ms: int
    segments_ms: int


@dataclass(frozen=True)
class RunReport:
    programme: str
    run_date: date
    status: str  # running | done
    chunks: int
    chunks_done: int
    started_at: datetime
    finished_at: datetime | None
    elapsed_ms: int | None  # wall time from the start to the last chunk's commit
    members: MembersReport
    expiry: ExpiryReport
    warnings_queued: int
    segment_transitions: int  # members whose retention segment changed tonight
    phases: PhasesReport


def report_of(uow: UnitOfWork, run: RunRow) -> RunReport:
    """The report of this run, summed from its chunks (a step of the use cases below)."""
    t = NightlyRunRepository(uow.connection).totals(run.id)
    elapsed = None
    if run.finished_at is not None:
        elapsed = int((run.finished_at - run.started_at).total_seconds() * 1000)
    return RunReport(
        programme=run.programme,
        run_date=run.run_date,
        status=run.status,
        chunks=run.chunks,
        chunks_done=run.chunks_done,
        started_at=run.started_at,
        finished_at=run.finished_at,
        elapsed_ms=elapsed,
        members=MembersReport(t.members, t.requalified, t.kept, t.upgraded, t.downgraded, t.lifetime_grants),
        expiry=ExpiryReport(run.expiry_policy, t.members_expired, t.lots_expired, t.miles_expired),
        warnings_queued=t.warnings,
        segment_transitions=t.segment_transitions,
        phases=PhasesReport(run.plan_ms, t.requalification_ms, t.expiry_ms, t.warnings_ms, t.segments_ms),
    )


def run_report(runtime: Runtime, run_date: date, programme: str | None = None) -> RunReport:
    """The report of the run of `run_date` (of the programme in force, unless named)."""
    with runtime.uow() as uow:
        name = programme or programme_name(uow)
        run = NightlyRunRepository(uow.connection).find(name, run_date)
        if run is None:
            raise NotFound(f"no nightly run of {name} for {run_date}", code="nightly_run_not_found")
        return report_of(uow, run)


def report_of_run(runtime: Runtime, run_id: int) -> RunReport:
    """The report of run `run_id`, as far as it went."""
    with runtime.uow() as uow:
        return report_of(uow, _run(uow, run_id))


def run_progress(runtime: Runtime, run_id: int) -> RunRow:
    """Run `run_id` as it is now: its status and how many of its chunks are done."""
    with runtime.uow() as uow:
        return _run(uow, run_id)


def _run(uow: UnitOfWork, run_id: int) -> RunRow:
    run = NightlyRunRepository(uow.connection).get(run_id)
    if run is None:
        raise NotFound(f"no nightly run {run_id}", code="nightly_run_not_found")
    return run
