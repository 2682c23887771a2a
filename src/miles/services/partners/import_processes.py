"""A partner file imported by one process per share: each reads the file, keeps its share's lines and
records them on its own connection, with its own interpreter (threads of one process wait on each other
for Python's lock: two processes imported 11 % more lines a second than two threads, bench/README.md).

The parent begins the import, starts the processes, shows their progress as they commit and finishes the
import when each has recorded its last chunk. A process that fails stops the others, and its error is
raised in the parent (a `MilesError` as what it was, anything else with its traceback); the processes die
with the parent, killed or not, so that a run again never meets one still recording.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import queue
import signal
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from miles.domain import errors
from miles.services.partners.imports import (
    DEFAULT_CHUNK,
    DEFAULT_JOBS,
    ImportOutcome,
    ImportPlan,
    ImportProgress,
    Progress,
    begin_import,
    finish_import,
    record_share,
    report_again,
)
from miles.services.runtime import Runtime

OpenRuntime = Callable[[], AbstractContextManager[Runtime]]
POLL_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1


class ShareFailed(RuntimeError):
    """A share's process failed on something other than a `MilesError` (its traceback is the message)."""


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies (a no-op where there is no prctl)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


def _share_process(
    open_runtime: OpenRuntime,
    plan: ImportPlan,
    share: int,
    events: Queue[tuple[Any, ...]],
    after_chunk: Callable[[], object] | None,
    parent: int,
) -> None:
    _die_with_parent(parent)

    def on_chunk(lines: int, end_offset: int) -> None:
        events.put(("chunk", share, lines, end_offset))
        if after_chunk is not None:
            after_chunk()

    try:
        with open_runtime() as runtime:
            record_share(runtime, plan, share, on_chunk)
        events.put(("done", share))
    except errors.MilesError as exc:
        events.put(("error", share, type(exc).__name__, exc.message, exc.field, exc.code))
    except BaseException:  # noqa: BLE001 - handed to the parent, which raises it
        events.put(("crash", share, traceback.format_exc()))


def _raise(event: tuple[Any, ...]) -> None:
    if event[0] == "error":
        _, _, name, message, field, code = event
        kind = getattr(errors, name, errors.MilesError)
        if not (isinstance(kind, type) and issubclass(kind, errors.MilesError)):
            kind = errors.MilesError
        raise kind(message, field=field, code=code)
    raise ShareFailed(f"share {event[1]} of the import failed:\n{event[2]}")


def _watch(processes: list[BaseProcess], events: Queue[tuple[Any, ...]], progress: Progress) -> None:
    """Show each committed chunk until every share is done; raise the first failure."""
    done: set[int] = set()
    while len(done) < len(processes):
        try:
            event = events.get(timeout=POLL_SECONDS)
        except queue.Empty:
            for share, process in enumerate(processes):
                if share not in done and process.exitcode is not None:
                    try:  # its last words may still be on their way
                        event = events.get(timeout=1.0)
                    except queue.Empty:
                        raise ShareFailed(
                            f"share {share} of the import ended with exit code {process.exitcode}"
                        ) from None
                    break
            else:
                continue
        if event[0] == "chunk":
            progress.chunk_done(event[1], event[2], event[3])
        elif event[0] == "done":
            done.add(event[1])
            progress.share_done(event[1])
        else:
            _raise(event)


def import_file_in_processes(
    runtime: Runtime,
    open_runtime: OpenRuntime,
    partner: str,
    path: Path,
    report: Path,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[ImportProgress], None] | None = None,
    jobs: int = DEFAULT_JOBS,
    after_chunk: Callable[[], object] | None = None,
) -> ImportOutcome:
    """`imports.import_file`, each share in a process of its own (started with `open_runtime`, which must
    pickle) when there are several; `after_chunk` runs in a share's process after each chunk it commits."""
    row, plan = begin_import(runtime, partner, path, chunk_size, jobs)
    if row.finished_at is not None:
        return report_again(runtime, row, report)
    progress = Progress(plan, on_progress)
    progress.tell()
    if plan.shares == 1:

        def on_chunk(lines: int, end_offset: int) -> None:
            progress.chunk_done(0, lines, end_offset)
            if after_chunk is not None:
                after_chunk()

        record_share(runtime, plan, 0, on_chunk)
    else:
        context = multiprocessing.get_context("spawn")
        events: Queue[tuple[Any, ...]] = context.Queue()
        processes: list[BaseProcess] = [
            context.Process(
                target=_share_process,
                args=(open_runtime, plan, share, events, after_chunk, os.getpid()),
                name=f"partner-import-share-{share}",
                daemon=True,
            )
            for share in range(plan.shares)
        ]
        for process in processes:
            process.start()
        try:
            _watch(processes, events, progress)
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
            for process in processes:
                process.join()
    progress.all_done()
    return finish_import(runtime, plan, report)
