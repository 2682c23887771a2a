"""Nightly runs and their chunks: the run row (unique per programme and date), member-id ranges, the
chunk lock that makes a chunk's work happen once, and the report summed from the chunks."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text

LAST_MEMBER_ID = 2**63 - 1  # the last chunk is open-ended: members enrolled during the run are in it


@dataclass(frozen=True)
class RunRow:
    id: int
    programme: str
    run_date: date
    programme_version_id: int | None
    expiry_policy: str
    chunk_size: int
    chunks: int
    chunks_done: int
    status: str
    plan_ms: int
    started_at: datetime
    finished_at: datetime | None
    vip_threshold: int | None = None  # the night's top-1 % value (retention segments), set when planned


@dataclass(frozen=True)
class ChunkRow:
    run_id: int
    chunk_no: int
    first_member_id: int
    last_member_id: int
    state: str


@dataclass(frozen=True)
class ChunkResult:
    """What a chunk did; written with its 'done' state, summed into the run report."""

    members: int = 0
    requalified: int = 0
    kept: int = 0
    upgraded: int = 0
    downgraded: int = 0
    lifetime_grants: int = 0
    members_expired: int = 0
    lots_expired: int = 0
    miles_expired: int = 0
    warnings: int = 0
    requalification_ms: int = 0
    expiry_ms: int = 0
    warnings_ms: int = 0
    segment_transitions: int = 0
    segments_ms: int = 0


RESULT_COLUMNS = [f.name for f in fields(ChunkResult)]
_RUN_COLUMNS = ", ".join(f.name for f in fields(RunRow))


class NightlyRunRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def create(
        self,
        programme: str,
        run_date: date,
        programme_version_id: int | None,
        expiry_policy: str,
        chunk_size: int,
    ) -> int | None:
        """The new run's id, or None when the run of this programme and date exists already (a
        concurrent start waits here for the first one's commit, then gets None)."""
        value = self.connection.execute(
            text(
                """
                INSERT INTO nightly_runs (programme, run_date, programme_version_id, expiry_policy,
                                          chunk_size, chunks)
                VALUES (:p, :d, :v, :policy, :size, 0)
                ON CONFLICT (programme, run_date) DO NOTHING
                RETURNING id
                """
            ),
            {
                "p": programme,
                "d": run_date,
                "v": programme_version_id,
                "policy": expiry_policy,
                "size": chunk_size,
            },
        ).scalar()
        return None if value is None else int(value)

    def plan_chunks(self, run_id: int, chunk_size: int) -> tuple[int, int]:
        """Split the members into id ranges of `chunk_size` ids (the last one open-ended); (the first
        member id, the number of chunks)."""
        row = self.connection.execute(
            text(
                """
                WITH bounds AS (SELECT coalesce(min(id), 1) AS lo, coalesce(max(id), 1) AS hi FROM members),
                n AS (SELECT generate_series(0, (hi - lo) / :size) AS chunk_no, lo, hi FROM bounds),
                c AS (
                    INSERT INTO nightly_chunks (run_id, chunk_no, first_member_id, last_member_id)
                    SELECT :run, chunk_no,
                           CASE WHEN chunk_no = 0 THEN 1 ELSE lo + chunk_no * :size END,
                           CASE WHEN chunk_no = (hi - lo) / :size THEN :last
                                ELSE lo + (chunk_no + 1) * :size - 1 END
                    FROM n ORDER BY chunk_no
                    RETURNING chunk_no
                ), r AS (
                    UPDATE nightly_runs SET chunks = (SELECT count(*) FROM c) WHERE id = :run
                )
                SELECT (SELECT lo FROM bounds) AS lo, (SELECT count(*) FROM c) AS chunks
                """
            ),
            {"run": run_id, "size": chunk_size, "last": LAST_MEMBER_ID},
        ).one()
        return int(row.lo), int(row.chunks)

    def plan_candidates(
        self,
        run_id: int,
        first_member_id: int,
        chunk_size: int,
        chunks: int,
        standing: list[str],
        warning: list[str],
        params: dict[str, Any],
    ) -> int:
        """Record, chunk by chunk, the members the run has something to do for, from the candidate queries
        (each selects a `member_id`), in one statement; how many."""
        parts = [
            f"SELECT member_id, true AS standing, false AS warning FROM ({sql}) s{i}"
            for i, sql in enumerate(standing)
        ]
        parts += [f"SELECT member_id, false, true FROM ({sql}) w{i}" for i, sql in enumerate(warning)]
        union = "\nUNION ALL\n".join(parts)
        self.plan_for_the_arguments()
        # a SELECT may run in parallel, an INSERT ... SELECT may not: gather into a temporary table first
        self.connection.execute(
            text(
                f"""
                CREATE TEMPORARY TABLE nightly_plan ON COMMIT DROP AS
                SELECT member_id, bool_or(standing) AS standing, bool_or(warning) AS warning
                FROM ({union}) candidates GROUP BY member_id
                """
            ),
            params,
        )
        return int(
            self.connection.execute(
                text(
                    """
                    WITH c AS (
                        INSERT INTO nightly_candidates (run_id, chunk_no, member_id, standing, warning)
                        SELECT :run, least(greatest((member_id - :lo) / :size, 0), :last_chunk), member_id,
                               standing, warning
                        FROM nightly_plan ORDER BY 2, 3
                        RETURNING 1
                    ) SELECT count(*) FROM c
                    """
                ),
                {"run": run_id, "lo": first_member_id, "size": chunk_size, "last_chunk": chunks - 1},
            ).scalar_one()
        )

    def set_plan_ms(self, run_id: int, plan_ms: int) -> None:
        self.connection.execute(
            text("UPDATE nightly_runs SET plan_ms = :ms WHERE id = :run"), {"ms": plan_ms, "run": run_id}
        )

    def find(self, programme: str, run_date: date) -> RunRow | None:
        row = self.connection.execute(
            text(f"SELECT {_RUN_COLUMNS} FROM nightly_runs WHERE programme = :p AND run_date = :d"),
            {"p": programme, "d": run_date},
        ).first()
        return None if row is None else RunRow(**row._mapping)

    def get(self, run_id: int) -> RunRow | None:
        row = self.connection.execute(
            text(f"SELECT {_RUN_COLUMNS} FROM nightly_runs WHERE id = :id"), {"id": run_id}
        ).first()
        return None if row is None else RunRow(**row._mapping)

    def latest_date(self) -> date | None:
        """The latest night run, whatever its programme: the members and their segments are one set, so
        nights go forward across a change of programme too."""
        value: date | None = self.connection.execute(text("SELECT max(run_date) FROM nightly_runs")).scalar()
        return value

    def lock_chunk(self, run_id: int, chunk_no: int) -> ChunkRow | None:
        """The chunk, locked until the end of the transaction; None when another transaction holds it
        (a worker doing it right now, or the reconciler queueing it again) or when there is no such chunk."""
        row = self.connection.execute(
            text(
                """
                SELECT run_id, chunk_no, first_member_id, last_member_id, state FROM nightly_chunks
                WHERE run_id = :run AND chunk_no = :chunk FOR UPDATE SKIP LOCKED
                """
            ),
            {"run": run_id, "chunk": chunk_no},
        ).first()
        return None if row is None else ChunkRow(**row._mapping)

    def lock_members(self, run_id: int, chunk_no: int) -> tuple[list[int], list[int]]:
        """Lock, in id order, the chunk's members whose standing or miles the run may change; (their ids,
        the ids of the chunk's members to warn). The statements that follow read the locked rows again and
        see what the previous lock holders committed."""
        locked = self.connection.execute(
            text(
                """
                SELECT m.id FROM members m
                WHERE m.id IN (SELECT member_id FROM nightly_candidates
                               WHERE run_id = :run AND chunk_no = :chunk AND standing)
                ORDER BY m.id FOR UPDATE OF m
                """
            ),
            {"run": run_id, "chunk": chunk_no},
        )
        ids = [int(r.id) for r in locked]
        warned = self.connection.execute(
            text(
                "SELECT member_id FROM nightly_candidates WHERE run_id = :run AND chunk_no = :chunk AND warning "
                "ORDER BY member_id"
            ),
            {"run": run_id, "chunk": chunk_no},
        )
        return ids, [int(r.member_id) for r in warned]

    def count_members(self, first_member_id: int, last_member_id: int) -> int:
        return int(
            self.connection.execute(
                text("SELECT count(*) FROM members WHERE id BETWEEN :lo AND :hi"),
                {"lo": first_member_id, "hi": last_member_id},
            ).scalar_one()
        )

    def forget_candidates(self, run_id: int) -> None:
        self.connection.execute(text("DELETE FROM nightly_candidates WHERE run_id = :run"), {"run": run_id})

    def plan_for_the_arguments(self) -> None:
        """The run's statements are planned for their own arguments: no JIT compilation (it costs more than
        running them), and never the generic plan of a prepared statement (a driver prepares a statement
        run often on one connection; a plan made without knowing how many ids an array holds can be
        ruinous for a chunk of ten thousand)."""
        self.connection.execute(text("SET LOCAL jit = off"))
        self.connection.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))

    def finish_chunk(self, run_id: int, chunk_no: int, result: ChunkResult) -> bool:
        """Write the chunk's results with its 'done' state and count it on the run (the run row's lock
        orders the chunks' commits, so exactly one of them sees the last count); True when the run is done."""
        assignments = ", ".join(f"{c} = :{c}" for c in RESULT_COLUMNS)
        params = {c: getattr(result, c) for c in RESULT_COLUMNS} | {"run": run_id, "chunk": chunk_no}
        updated = self.connection.execute(
            text(
                f"UPDATE nightly_chunks SET state = 'done', done_at = now(), {assignments} "
                "WHERE run_id = :run AND chunk_no = :chunk AND state = 'pending'"
            ),
            params,
        ).rowcount
        if updated != 1:
            raise RuntimeError(f"chunk {chunk_no} of run {run_id} was not pending")
        row = self.connection.execute(
            text(
                """
                UPDATE nightly_runs SET chunks_done = chunks_done + 1,
                       status = CASE WHEN chunks_done + 1 = chunks THEN 'done' ELSE status END,
                       finished_at = CASE WHEN chunks_done + 1 = chunks THEN clock_timestamp() END
                WHERE id = :run RETURNING status
                """
            ),
            {"run": run_id},
        ).one()
        return bool(row.status == "done")

    def requeue_stale(
        self, stale_seconds: float, limit: int = 1000, run_id: int | None = None
    ) -> list[tuple[int, int]]:
        """Pending chunks queued more than `stale_seconds` ago that no transaction is working on (a
        worker doing a chunk holds its row lock; a dead worker's lock went with its connection): their
        queue time is reset and they are returned, to be queued again."""
        rows = self.connection.execute(
            text(
                """
                WITH stale AS (
                    SELECT run_id, chunk_no FROM nightly_chunks
                    WHERE state = 'pending' AND enqueued_at <= now() - make_interval(secs => :stale)
                      AND (CAST(:run AS bigint) IS NULL OR run_id = :run)
                    ORDER BY enqueued_at LIMIT :limit FOR UPDATE SKIP LOCKED
                )
                UPDATE nightly_chunks c SET enqueued_at = now(), enqueues = c.enqueues + 1
                FROM stale WHERE c.run_id = stale.run_id AND c.chunk_no = stale.chunk_no
                RETURNING c.run_id, c.chunk_no
                """
            ),
            {"stale": stale_seconds, "limit": limit, "run": run_id},
        )
        return sorted((int(r.run_id), int(r.chunk_no)) for r in rows)

    def totals(self, run_id: int) -> ChunkResult:
        sums = ", ".join(f"coalesce(sum({c}), 0) AS {c}" for c in RESULT_COLUMNS)
        row = self.connection.execute(
            text(f"SELECT {sums} FROM nightly_chunks WHERE run_id = :run AND state = 'done'"), {"run": run_id}
        ).one()
        return ChunkResult(**{c: int(getattr(row, c)) for c in RESULT_COLUMNS})
