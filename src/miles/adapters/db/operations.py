"""What operators watch, read from PostgreSQL with a few set-based statements, so that every API process
reports the same numbers whoever did the work (API processes, Celery workers, beat).

Each statement reads an index, a partial index over a small set, or a tiny table:

- redemptions by status: PENDING from a range of `redemptions_status_idx`; the settled statuses from an
  index-only scan of all of it (linear in redemptions, on a narrow index: callers do it less often);
  unfinished sagas from the sweeper's partial indexes;
- sagas ended in the window: `redemption_history_outcome_idx` (by time), then each redemption by its key;
- open holds, undispatched outbox rows, unsent expiry warnings: their partial indexes (`status = 'OPEN'`,
  `dispatched_at IS NULL`, `sent_at IS NULL`): sets that stay small while the system keeps up;
- the last nightly run: `nightly_runs` (a row a night).

Holds and redemptions carry times of the engine's clock (passed in as `now`); the outbox, the warnings and
the nightly runs carry the database's `now()` at their insert, so their ages are measured against it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, text

REDEMPTION_STATUSES = ("PENDING", "CONFIRMED", "FAILED", "CANCELLED")
SAGA_OUTCOMES = ("CONFIRMED", "FAILED")
STATEMENT_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Buckets:
    """Cumulative counts: `counts[i]` of the observations <= `bounds[i]`; `count` of all of them."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    count: int
    total: float  # the sum of the observations


@dataclass(frozen=True)
class Backlog:
    """Rows waiting: how many, and the age in seconds of the oldest (0 when there is none)."""

    waiting: int
    oldest_age_seconds: float


@dataclass(frozen=True)
class HoldsState:
    open: int
    overdue: int  # open past their expiry: the sweeper has not closed them yet
    oldest_age_seconds: float
    ages: Buckets  # the open holds by age


@dataclass(frozen=True)
class OperationsCounts:
    redemptions: dict[str, int]  # every status (0 when none), or PENDING only when settled were not counted
    sagas_unfinished: dict[str, int]  # booking (PENDING), cancelling, releasing (a failure's bookings)
    saga_durations: dict[str, Buckets]  # by outcome, the sagas that ended in the window
    saga_window_seconds: float
    holds: HoldsState
    outbox: Backlog
    warnings: Backlog
    warnings_failing: int  # unsent warnings the notifier refused at least once
    last_run_id: int | None


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # Alembic's revision of the database, None before the first migration
    programme: str | None  # the programme in force (its newest load), None when none was loaded
    programme_version_id: int | None
    programme_loaded_at: datetime | None


def _bucket_filters(column: str, bounds: Sequence[float], prefix: str) -> tuple[str, dict[str, float]]:
    sql = ", ".join(
        f"count(*) FILTER (WHERE {column} <= :{prefix}{i}) AS {prefix}{i}" for i in range(len(bounds))
    )
    return sql, {f"{prefix}{i}": float(b) for i, b in enumerate(bounds)}


class OperationsRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def limit_statements(self, milliseconds: int = STATEMENT_TIMEOUT_MS) -> None:
        """A scrape never holds the database long: every statement of this transaction stops after this."""
        self.connection.execute(text(f"SET LOCAL statement_timeout = {int(milliseconds)}"))

    def redemptions_by_status(self, settled: bool = True) -> dict[str, int]:
        """Redemptions in each status. PENDING is a range of `redemptions_status_idx`; the settled statuses
        (`settled=True`) are an index-only scan of all of it, linear in redemptions (~50 ms a 500,000)."""
        if not settled:
            pending = self.connection.execute(
                text("SELECT count(*) FROM redemptions WHERE status = 'PENDING'")
            ).scalar_one()
            return {"PENDING": int(pending)}
        rows = self.connection.execute(text("SELECT status, count(*) AS n FROM redemptions GROUP BY status"))
        counts = dict.fromkeys(REDEMPTION_STATUSES, 0)
        counts.update({r.status: int(r.n) for r in rows})
        return counts

    def sagas_unfinished(self) -> dict[str, int]:
        row = self.connection.execute(
            text(
                """
                SELECT (SELECT count(*) FROM redemptions WHERE status = 'PENDING') AS booking,
                       (SELECT count(*) FROM redemptions
                        WHERE status = 'CONFIRMED' AND cancel_requested_at IS NOT NULL) AS cancelling,
                       (SELECT count(*) FROM redemptions
                        WHERE status = 'FAILED' AND released_at IS NULL) AS releasing
                """
            )
        ).one()
        return {
            "booking": int(row.booking),
            "cancelling": int(row.cancelling),
            "releasing": int(row.releasing),
        }

    def saga_durations(self, now: datetime, window: timedelta, bounds: Sequence[float]) -> dict[str, Buckets]:
        """Seconds from each redemption's creation to its CONFIRMED or FAILED line of history (written once
        per redemption), for the sagas that ended in (now - window, now]."""
        filters, params = _bucket_filters("seconds", bounds, "b")
        rows = self.connection.execute(
            text(
                f"""
                SELECT status, count(*) AS n, coalesce(sum(seconds), 0) AS total, {filters}
                FROM (
                    SELECT h.status, greatest(extract(epoch FROM h.at - r.created_at), 0) AS seconds
                    FROM redemption_history h JOIN redemptions r ON r.id = h.redemption_id
                    WHERE h.status IN ('CONFIRMED', 'FAILED') AND h.at > :since AND h.at <= :now
                ) ended
                GROUP BY status
                """
            ),
            {"since": now - window, "now": now, **params},
        )
        found = {r.status: r for r in rows}
        durations = {}
        for outcome in SAGA_OUTCOMES:
            r = found.get(outcome)
            counts = tuple(int(getattr(r, f"b{i}")) if r else 0 for i in range(len(bounds)))
            durations[outcome] = Buckets(
                tuple(bounds), counts, int(r.n) if r else 0, float(r.total) if r else 0.0
            )
        return durations

    def holds(self, now: datetime, bounds: Sequence[float]) -> HoldsState:
        filters, params = _bucket_filters("age", bounds, "b")
        r = self.connection.execute(
            text(
                f"""
                SELECT count(*) AS n, count(*) FILTER (WHERE expires_at <= :now) AS overdue,
                       coalesce(max(age), 0) AS oldest, coalesce(sum(age), 0) AS total, {filters}
                FROM (
                    SELECT expires_at, greatest(extract(epoch FROM :now - created_at), 0) AS age
                    FROM holds WHERE status = 'OPEN'
                ) open_holds
                """
            ),
            {"now": now, **params},
        ).one()
        counts = tuple(int(getattr(r, f"b{i}")) for i in range(len(bounds)))
        return HoldsState(
            open=int(r.n),
            overdue=int(r.overdue),
            oldest_age_seconds=float(r.oldest),
            ages=Buckets(tuple(bounds), counts, int(r.n), float(r.total)),
        )

    def outbox(self) -> Backlog:
        r = self.connection.execute(
            text(
                "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest "
                "FROM task_outbox WHERE dispatched_at IS NULL"
            )
        ).one()
        return Backlog(int(r.n), max(float(r.oldest), 0.0))

    def unsent_warnings(self) -> tuple[Backlog, int]:
        r = self.connection.execute(
            text(
                "SELECT count(*) AS n, count(*) FILTER (WHERE attempts > 0) AS failing, "
                "coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest "
                "FROM expiry_warnings WHERE sent_at IS NULL"
            )
        ).one()
        return Backlog(int(r.n), max(float(r.oldest), 0.0)), int(r.failing)

    def last_run_id(self) -> int | None:
        value = self.connection.execute(
            text("SELECT id FROM nightly_runs ORDER BY run_date DESC, id DESC LIMIT 1")
        ).scalar()
        return None if value is None else int(value)

    def counts(
        self,
        now: datetime,
        saga_window: timedelta,
        saga_bounds: Sequence[float],
        hold_bounds: Sequence[float],
        settled: bool = True,
    ) -> OperationsCounts:
        warnings, failing = self.unsent_warnings()
        return OperationsCounts(
            redemptions=self.redemptions_by_status(settled),
            sagas_unfinished=self.sagas_unfinished(),
            saga_durations=self.saga_durations(now, saga_window, saga_bounds),
            saga_window_seconds=saga_window.total_seconds(),
            holds=self.holds(now, hold_bounds),
            outbox=self.outbox(),
            warnings=warnings,
            warnings_failing=failing,
            last_run_id=self.last_run_id(),
        )

    def revision(self) -> str | None:
        """The migration the database is at (None: not migrated)."""
        if self.connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
            return None
        revision: str | None = self.connection.execute(
            text("SELECT max(version_num) FROM alembic_version")
        ).scalar()
        return revision

    def schema(self) -> SchemaState:
        revision = self.revision()
        programme = None
        if self.connection.execute(text("SELECT to_regclass('programme_versions')")).scalar() is not None:
            programme = self.connection.execute(
                text("SELECT id, programme, loaded_at FROM programme_versions ORDER BY id DESC LIMIT 1")
            ).first()
        return SchemaState(
            revision=revision,
            programme=None if programme is None else programme.programme,
            programme_version_id=None if programme is None else int(programme.id),
            programme_loaded_at=None if programme is None else programme.loaded_at,
        )
