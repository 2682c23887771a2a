"""What `miles nightly` does: run (or join) the night of a date now, with a progress bar over its chunks,
and print its report. Without MILES_BROKER_URL the chunks run in this process; with it, they go to the Celery
workers and this command follows their progress in the run tables."""

from __future__ import annotations

import time
from datetime import date

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from miles.adapters.queue import InProcessDispatcher
from miles.bootstrap import Container, build_container
from miles.domain.errors import MilesError
from miles.services.nightly.report import RunReport, report_of_run, run_progress
from miles.services.nightly.runs import requeue_lost_chunks, resume_run, start_run

POLL_SECONDS = 0.25


def run_nightly(
    database_url: str,
    broker_url: str | None,
    run_date: str | None,
    wait: bool,
    timeout: float | None,
    out: Console,
    err: Console,
) -> int:
    """Exit code: 0 the night is done (or, with --no-wait, started or joined), 1 it is not done when this
    command stops following it, 2 it cannot run."""
    try:
        day = date.fromisoformat(run_date) if run_date else None
    except ValueError:
        err.print(f"[red]--date {run_date!r} is not a date (YYYY-MM-DD)[/red]")
        return 2
    container = build_container(database_url, pool_size=4, broker_url=broker_url)
    try:
        return _run(container, day, wait, timeout, out, err)
    finally:
        container.engine.dispose()


def _run(
    container: Container, day: date | None, wait: bool, timeout: float | None, out: Console, err: Console
) -> int:
    in_process = isinstance(container.dispatcher, InProcessDispatcher)
    try:
        start = start_run(container, day)
    except MilesError as exc:
        err.print(f"[red]{exc.message}[/red]")
        return 2
    where = "in this process" if in_process else "on the Celery workers"
    if start.created:
        err.print(f"nightly run {start.run_date} of {start.programme}: {start.chunks} chunks, {where}")
    else:
        err.print(f"nightly run {start.run_date} of {start.programme} exists ({start.status}): joining it")
        if start.status != "done":
            if in_process:  # nobody else will do its pending chunks
                resume_run(container, start.run_id)
            else:  # the workers may be doing them; queue only the lost ones
                requeue_lost_chunks(container)
    if not wait:
        return 0
    done = _follow(container, start.run_id, start.chunks, timeout, in_process, err)
    if in_process and isinstance(container.dispatcher, InProcessDispatcher):
        container.dispatcher.drain(timeout=600)  # the expiry warnings relay queued by the last chunk
    print_report(report_of_run(container, start.run_id), out)
    return 0 if done else 1


def _follow(
    container: Container, run_id: int, chunks: int, timeout: float | None, in_process: bool, err: Console
) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    columns = (
        TextColumn("[bold]nightly run[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False) as progress:
        bar = progress.add_task("chunks", total=chunks)
        while True:
            run = run_progress(container, run_id)
            progress.update(bar, completed=run.chunks_done, total=run.chunks)
            if run.status == "done":
                return True
            if in_process and isinstance(container.dispatcher, InProcessDispatcher):
                if not container.dispatcher.busy() and not _done(container, run_id):
                    err.print(
                        "[red]a chunk failed (see the log); run the command again to finish the night[/red]"
                    )
                    return False
            if deadline is not None and time.monotonic() > deadline:
                err.print("[yellow]still running; `miles nightly --date D` again follows it[/yellow]")
                return False
            time.sleep(POLL_SECONDS)


def _done(container: Container, run_id: int) -> bool:
    return run_progress(container, run_id).status == "done"


def print_report(report: RunReport, out: Console) -> None:
    table = Table(
        title=f"nightly run {report.run_date} of {report.programme}: {report.status}", show_header=False
    )
    table.add_column("")
    table.add_column("", justify="right")
    m, e, p = report.members, report.expiry, report.phases
    rows = [
        ("chunks done", f"{report.chunks_done:,} / {report.chunks:,}"),
        ("members", f"{m.processed:,}"),
        ("requalified (tier expired)", f"{m.requalified:,}"),
        ("  kept their tier", f"{m.kept:,}"),
        ("tier up", f"{m.up:,}"),
        ("tier down", f"{m.down:,}"),
        ("lifetime grants", f"{m.lifetime_grants:,}"),
        (f"miles expired ({e.policy})", f"{e.miles:,}"),
        ("  members / lots", f"{e.members:,} / {e.lots:,}"),
        ("warnings queued", f"{report.warnings_queued:,}"),
        ("segment changes", f"{report.segment_transitions:,}"),
        ("plan", f"{p.plan_ms:,} ms"),
        ("requalification (sum over chunks)", f"{p.requalification_ms:,} ms"),
        ("expiry (sum over chunks)", f"{p.expiry_ms:,} ms"),
        ("warnings (sum over chunks)", f"{p.warnings_ms:,} ms"),
        ("segments (sum over chunks)", f"{p.segments_ms:,} ms"),
        ("wall time", "-" if report.elapsed_ms is None else f"{report.elapsed_ms:,} ms"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    out.print(table)
