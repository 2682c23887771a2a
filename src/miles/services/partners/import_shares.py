"""A file's lines recorded by several connections at once, each its share of the members.

One thread reads and parses the file and hands each share its chunks (a bounded queue per share: the file
is never read more than `depth` chunks ahead of any share); one thread per share records them in order.
A member's lines always fall to one share (by a digest of the member number), so the shares never wait on
each other's member locks and a member's activities are recorded in file order. PostgreSQL works on both
cores while Python parses (psycopg lets other threads run while it waits on the server).
"""

from __future__ import annotations

import queue
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence

from miles.services.partners.activity_file import FileLine

POLL_SECONDS = 0.1  # how often a waiting thread looks whether another one failed


def member_share(member_number: str, shares: int) -> int:
    """The share a member's lines fall to."""
    return zlib.crc32(member_number.encode()) % shares


def share_of(line: FileLine, shares: int) -> int:
    """The share a line falls to: by its member number, or by its line number when it has none (a line
    refused before recording)."""
    if shares == 1:
        return 0
    if line.activity is not None:
        return member_share(line.activity.member_number, shares)
    return line.line_no % shares


def dispatch(
    lines: Iterator[FileLine], marks: Sequence[int], chunk_size: int
) -> Iterator[tuple[int, list[FileLine]]]:
    """(share, chunk) each time a share's chunk fills, then each share's last one. A line at or before its
    share's mark (done by a run before) is left out."""
    buffers: list[list[FileLine]] = [[] for _ in marks]
    for line in lines:
        share = share_of(line, len(marks))
        if line.line_no <= marks[share]:
            continue
        buffer = buffers[share]
        buffer.append(line)
        if len(buffer) == chunk_size:
            yield share, buffer
            buffers[share] = []
    for share, buffer in enumerate(buffers):
        if buffer:
            yield share, buffer


class _Failed(Exception):
    """Another thread failed: this one stops."""


def record_shares(
    chunks: Iterator[tuple[int, list[FileLine]]],
    shares: int,
    record: Callable[[int, list[FileLine]], None],
    on_share_done: Callable[[int], None],
    depth: int = 2,
) -> None:
    """Run `record(share, chunk)` for every chunk, the chunks of one share in order on one thread per share,
    `on_share_done(share)` when a share has recorded its last chunk. The first error of any thread (reading
    included) stops the others and is raised here once they have stopped."""
    queues: list[queue.Queue[list[FileLine] | None]] = [queue.Queue(maxsize=depth) for _ in range(shares)]
    failed = threading.Event()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def fail(exc: BaseException) -> None:
        with lock:
            errors.append(exc)
        failed.set()

    def put(share: int, item: list[FileLine] | None) -> None:
        while True:
            if failed.is_set():
                raise _Failed
            try:
                queues[share].put(item, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def get(share: int) -> list[FileLine] | None:
        while True:
            if failed.is_set():
                raise _Failed
            try:
                return queues[share].get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue

    def read() -> None:
        try:
            for share, chunk in chunks:
                put(share, chunk)
            for share in range(shares):
                put(share, None)
        except _Failed:
            return
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
            fail(exc)

    def work(share: int) -> None:
        try:
            while (chunk := get(share)) is not None:
                record(share, chunk)
            on_share_done(share)
        except _Failed:
            return
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
            fail(exc)

    threads = [threading.Thread(target=read, name="partner-import-reader", daemon=True)]
    threads += [
        threading.Thread(target=work, args=(share,), name=f"partner-import-share-{share}", daemon=True)
        for share in range(shares)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(POLL_SECONDS)
    except BaseException:  # an interrupt in the caller's thread: stop the others before leaving
        failed.set()
        for thread in threads:
            thread.join()
        raise
    if errors:
        raise errors[0]
