"""One chunk of the nightly run: a few set-based statements over the chunk's candidates (the members of
its id range the plan found something to do for), committed together with the chunk's 'done' state.

Exactly once: the chunk's row is locked first (FOR UPDATE SKIP LOCKED). A chunk that is done is left
alone (a duplicate delivery, a re-queue by the reconciler); a chunk another transaction holds is being
done right now, and is left to it. The work and the 'done' state commit in one transaction, so a worker
killed in the middle rolls all of it back, and the chunk is still pending for the reconciler.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum

from miles.adapters.db.expiry import ExpiryRepository
from miles.adapters.db.nightly_runs import ChunkResult, NightlyRunRepository
from miles.adapters.db.requalification import RequalificationRepository
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.ledger import EXPIRED
from miles.services.clock import start_of_day
from miles.services.nightly.runs import CHUNK_JOB, WARNINGS_JOB, programme_of_run
from miles.services.partners.posting import post_due_activities
from miles.services.promotions.birthdays import grant_birthdays
from miles.services.runtime import Runtime, job
from miles.services.segments import count_night, segment_members

log = logging.getLogger("miles.nightly")


class ChunkOutcome(StrEnum):
    DONE = "done"  # done now, by this call
    ALREADY_DONE = "already_done"  # done before: nothing changed
    BUSY = "busy"  # another transaction holds the chunk (a worker doing it): nothing changed
    MISSING = "missing"


def _ms(since: float) -> int:
    return int((time.perf_counter() - since) * 1000)


def work_chunk(
    uow: UnitOfWork, run_id: int, chunk_no: int, pause_seconds: float = 0.0, now: datetime | None = None
) -> ChunkOutcome:
    """Do chunk `chunk_no` of run `run_id`, unless it is done or being done."""
    runs = NightlyRunRepository(uow.connection)
    chunk = runs.lock_chunk(run_id, chunk_no)
    if chunk is None:
        return ChunkOutcome.BUSY if runs.get(run_id) is not None else ChunkOutcome.MISSING
    if chunk.state == "done":
        return ChunkOutcome.ALREADY_DONE
    run = runs.get(run_id)
    assert run is not None
    programme = programme_of_run(uow, run)
    now = now or start_of_day(run.run_date, programme.timezone)  # callers without a clock: the night's start
    requalification = RequalificationRepository(uow.connection, programme, run.run_date)
    expiry = ExpiryRepository(uow.connection, programme, run.run_date)
    runs.plan_for_the_arguments()

    started = time.perf_counter()
    member_ids, warned_ids = runs.lock_members(run_id, chunk_no)
    # pending partner miles post first: they count as activity for the night's inactivity expiry
    postings, posted_miles = post_due_activities(uow, programme, run.run_date, member_ids, chunk_no, now)
    tiers = requalification.requalify(run_id, member_ids)
    requalification_ms = _ms(started)

    started = time.perf_counter()
    expired_account = uow.ledger.programme_account(EXPIRED, chunk_no)
    expired = expiry.expire(run_id, member_ids, expired_account, uow.now)
    expiry_ms = _ms(started)

    bonuses, bonus_miles = grant_birthdays(uow, programme, run.run_date, member_ids, now)

    started = time.perf_counter()
    warnings = expiry.queue_warnings(run_id, warned_ids)
    warnings_ms = _ms(started)

    # every member of the range, after the night's postings and expiry: time alone moves members
    started = time.perf_counter()
    transitions = segment_members(
        uow, programme, run.run_date, chunk.first_member_id, chunk.last_member_id, run.vip_threshold
    )
    segments_ms = _ms(started)

    result = ChunkResult(
        members=runs.count_members(chunk.first_member_id, chunk.last_member_id),
        requalified=tiers.requalified,
        kept=tiers.kept,
        upgraded=tiers.upgraded,
        downgraded=tiers.downgraded,
        lifetime_grants=tiers.lifetime_grants,
        members_expired=expired.members,
        lots_expired=expired.lots,
        miles_expired=expired.miles,
        warnings=warnings,
        requalification_ms=requalification_ms,
        expiry_ms=expiry_ms,
        warnings_ms=warnings_ms,
        segment_transitions=transitions,
        segments_ms=segments_ms,
    )
    if pause_seconds > 0:  # test hook only: a window in which to kill the worker mid-chunk
        time.sleep(pause_seconds)
    # the rows every chunk shares come last, so they stay locked only until the commit
    expiry.credit_expired_account(expired_account, expired.miles)
    if runs.finish_chunk(run_id, chunk_no, result):
        runs.forget_candidates(run_id)
        count_night(uow, run.run_date)
        uow.outbox.add(WARNINGS_JOB, {})  # the night is done: send its warnings now
        log.info("nightly run %s is done", run.run_date)
    log.debug(
        "nightly run %s chunk %d: %s, %d birthday bonuses (%d miles), %d partner activities posted (%d miles)",
        run.run_date,
        chunk_no,
        asdict(result),
        bonuses,
        bonus_miles,
        postings,
        posted_miles,
    )
    return ChunkOutcome.DONE


@job(CHUNK_JOB)
def chunk_job(runtime: Runtime, run_id: int, chunk_no: int) -> str:
    with runtime.uow() as uow:
        outcome = work_chunk(
            uow, run_id, chunk_no, runtime.nightly.test_chunk_delay_seconds, runtime.clock.now()
        )
    if outcome is not ChunkOutcome.DONE:
        log.info("nightly run %d chunk %d: %s, nothing to do", run_id, chunk_no, outcome.value)
    return outcome.value
