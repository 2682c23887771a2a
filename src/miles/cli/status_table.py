"""The table `miles status` prints: the health of the database, the broker and the workers, the backlogs operators watch
(redemptions, holds, the outbox, expiry warnings) and the last nightly run, in one table.

Exit code 0 when the database answers and its migrations are the code's, and the broker (when one is
configured) answers; 1 otherwise. Workers that do not answer are shown, in yellow, without failing the
command: jobs wait in the queue for them."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from miles.adapters.broker import broker_errors
from miles.bootstrap import configured_clock
from miles.observability import redact
from miles.services.nightly.report import RunReport
from miles.services.operations import (
    DatabaseHealth,
    OperationsSnapshot,
    broker_health,
    database_status,
    probe,
    workers_responding,
)

OK, WARN, BAD = "[green]ok[/green]", "[yellow]warning[/yellow]", "[red]failing[/red]"
SAGA_BOUNDS = (1.0, 10.0, 60.0)
HOLD_BOUNDS = (600.0,)


def show_status(url: str, broker_url: str | None, out: Console, worker_timeout: float = 1.0) -> int:
    table = Table(title="miles status", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("state")
    table.add_column("detail")
    database_ok, snapshot = _database(url, table)
    broker_ok = _broker(broker_url, worker_timeout, table)
    if snapshot is not None:
        _operations(snapshot, table)
        _nightly(snapshot.last_run, table)
    out.print(table)
    healthy = database_ok and broker_ok
    out.print("[green]healthy[/green]" if healthy else "[red]not healthy[/red]")
    return 0 if healthy else 1


def _database(url: str, table: Table) -> tuple[bool, OperationsSnapshot | None]:
    runtime = probe(url, configured_clock())
    try:
        status = database_status(runtime, SAGA_BOUNDS, HOLD_BOUNDS)
    except (SQLAlchemyError, OSError) as exc:  # an unreachable database is a line of the report
        _row(table, "database", BAD, f"{redact(url)}: unreachable ({_first_line(exc)})")
        return False, None
    finally:
        runtime.close()
    _row(table, "database", OK, f"{redact(url)} answered in {status.answered_ms:.0f} ms")
    _schema(status.health, table)
    return status.health.up_to_date, status.snapshot


def _schema(health: DatabaseHealth, table: Table) -> None:
    s = health.schema
    if health.up_to_date:
        _row(table, "migrations", OK, f"revision {s.revision} (the newest)")
    else:
        _row(
            table,
            "migrations",
            BAD,
            f"revision {s.revision or 'none'}, the code needs {health.head}: run `miles db upgrade`",
        )
    if s.programme is None:
        _row(table, "programme", WARN, "none loaded: the shipped reference programme is in force")
    else:
        _row(
            table,
            "programme",
            OK,
            f"{s.programme} (version {s.programme_version_id}, loaded {_when(s.programme_loaded_at)})",
        )


def _operations(snapshot: OperationsSnapshot, table: Table) -> None:
    c = snapshot.counts
    r = c.redemptions
    unfinished = c.sagas_unfinished
    _row(
        table,
        "redemptions",
        OK,
        f"{r['PENDING']:,} pending · {r['CONFIRMED']:,} confirmed · {r['FAILED']:,} failed · "
        f"{r['CANCELLED']:,} cancelled; {unfinished['cancelling']:,} cancelling, "
        f"{unfinished['releasing']:,} failed with bookings to release",
    )
    h = c.holds
    holds = f"{h.open:,} open"
    if h.open:
        holds += f", the oldest {_age(h.oldest_age_seconds)} old; {h.overdue:,} past their expiry"
    _row(table, "holds", WARN if h.overdue else OK, holds)
    _row(table, "outbox", OK, _backlog(c.outbox.waiting, c.outbox.oldest_age_seconds, "job"))
    warnings = _backlog(c.warnings.waiting, c.warnings.oldest_age_seconds, "warning")
    if c.warnings_failing:
        warnings += f"; {c.warnings_failing:,} refused by the notifier at least once"
    _row(table, "expiry warnings", WARN if c.warnings_failing else OK, warnings)


def _nightly(report: RunReport | None, table: Table) -> None:
    if report is None:
        _row(table, "last nightly run", WARN, "none yet")
        return
    state = OK if report.status == "done" else "[yellow]running[/yellow]"
    _row(
        table,
        "last nightly run",
        state,
        f"{report.run_date} of {report.programme}: {report.status}, "
        f"{report.chunks_done:,} / {report.chunks:,} chunks done, started {_when(report.started_at)}",
    )
    m, e, p = report.members, report.expiry, report.phases
    wall = "-" if report.elapsed_ms is None else f"{report.elapsed_ms:,} ms"
    _row(
        table,
        "  its report",
        "",
        f"members {m.processed:,} (tier up {m.up:,}, down {m.down:,}, kept {m.kept:,}, lifetime grants "
        f"{m.lifetime_grants:,}) · miles expired {e.miles:,} ({e.policy}, {e.members:,} members) · warnings "
        f"queued {report.warnings_queued:,} · wall time {wall} (plan {p.plan_ms:,} ms, requalification "
        f"{p.requalification_ms:,} ms, expiry {p.expiry_ms:,} ms, warnings {p.warnings_ms:,} ms, segments "
        f"{p.segments_ms:,} ms)",
    )


def _broker(url: str | None, worker_timeout: float, table: Table) -> bool:
    if not url:
        _row(table, "broker", OK, "none configured (no MILES_BROKER_URL)")
        _row(table, "workers", OK, "no broker configured: jobs run in-process")
        return True
    state = broker_health(url)
    if not state.reachable:
        _row(table, "broker", BAD, f"{redact(url)}: unreachable ({state.error})")
        _row(table, "workers", BAD, "unknown: the broker does not answer")
        return False
    queues = " · ".join(f"{name} {n:,} waiting" for name, n in state.queues.items())
    _row(table, "broker", OK, f"{redact(url)}: {queues} · {state.unacked:,} delivered, not acknowledged")
    try:
        names = workers_responding(url, worker_timeout)
    except broker_errors() as exc:  # the ping is informative only
        _row(table, "workers", WARN, f"the ping failed ({_first_line(exc)})")
        return True
    if names:
        _row(table, "workers", OK, f"{len(names)} responding: {', '.join(names)}")
    else:
        _row(
            table,
            "workers",
            WARN,
            f"none answered a ping within {worker_timeout:g} s: jobs wait in the queues",
        )
    return True


def _backlog(waiting: int, oldest: float, what: str) -> str:
    text = f"{waiting:,} {what}{'' if waiting == 1 else 's'} waiting to be sent"
    return text + (f", the oldest {_age(oldest)} old" if waiting else "")


def _age(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {lines[0] if lines else ''}")


def _row(table: Table, what: str, state: str, detail: str) -> None:
    """A line of the report; the detail is text (an error message's brackets are not markup)."""
    table.add_row(what, state, escape(detail))
