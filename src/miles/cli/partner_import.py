"""`miles partners import PARTNER FILE.csv`: a partner's activity file, with a progress bar on standard error
and a summary on standard output. Run it again (after a crash too): it resumes, and nothing ever doubles.

Exit code: 0 the file was processed (refused lines are in the report), 2 the file was refused as a whole
(unknown partner, no header or a wrong one) or could not be imported now.

Test hook: MILES_TEST_IMPORT_CHUNK_DELAY (seconds, default 0) makes each share's process sleep after each
chunk it commits, so that a test can kill it in the middle of a file. Test-only: never set it anywhere else."""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from miles.cli.consoles import err, out
from miles.cli.database import command_runtime, database_url

if TYPE_CHECKING:
    from miles.services.partners.imports import ImportOutcome

CHUNK_DELAY_ENV = "MILES_TEST_IMPORT_CHUNK_DELAY"


def _chunk_delay() -> float:
    """The test hook's delay after each committed chunk (0 unless a test sets it)."""
    raw = os.environ.get(CHUNK_DELAY_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        return max(0.0, float(raw))
    except ValueError:
        err.print(f"[red]{CHUNK_DELAY_ENV}={raw!r} is not a number of seconds[/red]")
        raise typer.Exit(2) from None


def partners_import(
    partner: Annotated[str, typer.Argument(help="the partner's code in the programme")],
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV, UTF-8, header member_number,activity_id,activity_date,kind,category,nights,days,amount,currency",
        ),
    ],
    report: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", dir_okay=False, help="where the refused lines go; default: FILE.refused.csv"
        ),
    ] = None,
    chunk_size: Annotated[
        int,
        typer.Option(
            min=1, max=10_000, help="lines recorded per transaction (a run again resumes after them)"
        ),
    ] = 5_000,
    jobs: Annotated[
        int,
        typer.Option(
            min=1,
            max=8,
            help="processes recording at once, each its share of the members (a resume keeps the first run's)",
        ),
    ] = 2,
) -> None:
    """Import a partner's activity file: the good lines are recorded, the refused ones written to a report."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from miles.domain.errors import MilesError
    from miles.services.partners.import_processes import import_file_in_processes
    from miles.services.partners.imports import ImportProgress

    report_path = report if report is not None else Path(f"{file}.refused.csv")
    delay = _chunk_delay()
    url = database_url()
    columns = (
        TextColumn(f"[bold]{escape(partner)}[/bold] {escape(file.name)}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[lines]:,} lines"),
        TimeElapsedColumn(),
    )
    started = time.monotonic()
    first_lines: list[int] = []  # the lines done when this run started
    progress = Progress(*columns, console=err, transient=False)
    bar = progress.add_task("import", total=None, lines=0)

    def show(step: ImportProgress) -> None:
        """Called before the first chunk (the bar shows from then on) and after each committed chunk."""
        after_chunk = bool(first_lines)
        if not after_chunk:
            first_lines.append(step.lines_done)
            progress.start()
        progress.update(bar, completed=step.bytes_done, total=step.bytes_total, lines=step.lines_done)

    try:
        with command_runtime(url) as runtime:
            outcome = import_file_in_processes(
                runtime,
                partial(command_runtime, url),
                partner,
                file,
                report_path,
                chunk_size,
                on_progress=show,
                jobs=jobs,
                after_chunk=partial(time.sleep, delay) if delay else None,  # the test hook
            )
    except MilesError as exc:
        progress.stop()  # before the message, which would else print above the bar
        err.print(f"[red]{escape(str(file))} was not imported: {escape(exc.message)}[/red]")
        raise typer.Exit(2) from None
    finally:
        progress.stop()
    elapsed = time.monotonic() - started
    this_run = outcome.lines - (first_lines[0] if first_lines else outcome.lines)
    _summary(outcome, this_run, elapsed)


def _summary(outcome: ImportOutcome, this_run: int, elapsed: float) -> None:
    from rich.table import Table

    if outcome.already_imported:
        title = f"{outcome.partner}: already imported (the same file, sha256 {outcome.file_digest[:12]}...)"
    elif outcome.resumed_after:
        title = f"{outcome.partner}: imported (resumed)"
    else:
        title = f"{outcome.partner}: imported"
    table = Table(title=title, show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    rate = this_run / elapsed if elapsed > 0 else 0.0
    rows = [
        ("lines", f"{outcome.lines:,}"),
        ("imported", f"{outcome.imported:,}"),
        ("replayed (recorded before)", f"{outcome.replayed:,}"),
        ("refused", f"{outcome.refused:,}"),
        ("miles", f"{outcome.miles:,}"),
        ("lines/s (this run)", f"{rate:,.0f}"),
    ]
    if outcome.resumed_after and not outcome.already_imported:
        rows.insert(1, ("done by a run before", f"{outcome.resumed_after:,}"))
    for label, value in rows:
        table.add_row(label, escape(value))
    out.print(table)
    out.print(f"refused lines: {escape(str(outcome.report))}", soft_wrap=True)
