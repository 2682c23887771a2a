"""Retention segments (DESIGN.md "Retention analytics and service recovery"): the nightly phase that gives
every member their segment and flags, a member's segment, and the segment sizes of a date.

The rule is miles.domain.segments; the set-based SQL is miles.adapters.db.segments. The night computes the
vip threshold once, when it is planned (`plan_vip_threshold`); each chunk segments every member of its id
range (time alone moves members between segments, not only the plan's candidates) in the chunk's
transaction, so a duplicate delivery or a killed worker records nothing twice; the run's last chunk
counts the segments of the night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from miles.adapters.db import segments as sql
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import NotFound
from miles.domain.programme.model import Programme
from miles.domain.segments import Flag, Segment
from miles.services.runtime import Runtime


def repository(uow: UnitOfWork, programme: Programme, run_date: date) -> sql.SegmentRepository:
    """The segments of `run_date` under `programme` (its time zone, its highest tier)."""
    top_tier = programme.ladder.tiers[-1].code
    return sql.SegmentRepository(uow.connection, programme.timezone, top_tier, run_date)


def hold_segment_writers_off(uow: UnitOfWork) -> None:
    """A night being started waits for the chunks writing segments now, and keeps new ones waiting until
    it is committed (a step of the start)."""
    sql.hold_segment_writers_off(uow.connection)


def plan_vip_threshold(uow: UnitOfWork, programme: Programme, run_id: int, run_date: date) -> int | None:
    """Compute the night's top-1 % threshold of 12-month value over every member and store it on the run."""
    threshold = repository(uow, programme, run_date).vip_threshold()
    sql.store_vip_threshold(uow.connection, run_id, threshold)
    return threshold


def segment_members(
    uow: UnitOfWork,
    programme: Programme,
    run_date: date,
    first_member_id: int,
    last_member_id: int,
    vip_threshold: int | None,
) -> int:
    """Segment every member of the id range on `run_date` (a step of the chunk); the transitions recorded."""
    return repository(uow, programme, run_date).segment(first_member_id, last_member_id, vip_threshold)


def count_night(uow: UnitOfWork, run_date: date) -> None:
    """The night is done: write its segment sizes and flag counts."""
    sql.count_segments(uow.connection, run_date)


@dataclass(frozen=True)
class MemberSegmentView:
    segment: str | None  # None before the member's first night
    flags: list[str]  # sorted


def member_segment(uow: UnitOfWork, member_number: str) -> MemberSegmentView:
    """The segment and flags the last night gave the member (a step)."""
    row = sql.segment_of_member(uow.connection, member_number)
    if row is None:
        return MemberSegmentView(None, [])
    flags = [f.value for f, on in ((Flag.REPEAT, row.repeat), (Flag.VIP, row.vip)) if on]
    return MemberSegmentView(row.segment, sorted(flags))


@dataclass(frozen=True)
class SegmentCountsView:
    date: date  # the run date counted: the latest on or before the date asked
    counts: dict[str, int]  # every segment, in the domain's order
    flags: dict[str, int]


def segment_counts(runtime: Runtime, day: date) -> SegmentCountsView:
    """The segment sizes and flag counts of the latest night on or before `day`."""
    with runtime.uow() as uow:
        found = sql.counts_on_or_before(uow.connection, day)
    if found is None:
        raise NotFound(f"no segments were counted on or before {day}", field="date", code="no_segments")
    run_date, counts = found
    return SegmentCountsView(
        date=run_date,
        counts={s.value: counts.get(s.value, 0) for s in Segment},
        flags={f.value: counts.get(f.value, 0) for f in Flag},
    )


def member_segment_read(runtime: Runtime, member_number: str) -> MemberSegmentView:
    """The segment and flags the last night gave the member (the console's member page)."""
    with runtime.uow() as uow:
        return member_segment(uow, member_number)
