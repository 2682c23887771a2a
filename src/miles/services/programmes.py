"""The programme in force: the newest loaded rules file, else the shipped reference programme."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from miles.adapters.db.unit_of_work import UnitOfWork
from miles.programme.loader import ProgrammeBook, load_file, load_reference, parse_document

if TYPE_CHECKING:
    from miles.domain.rules import Programme
    from miles.services.runtime import Runtime


class ProgrammeCatalog:
    """Caches the programme in force for a few seconds; a new load is seen by every process soon after."""

    def __init__(self, ttl_seconds: float = 5.0) -> None:
        self.ttl = ttl_seconds
        self._lock = threading.Lock()
        self._book: ProgrammeBook | None = None
        self._digest: str | None = None
        self._checked_at = 0.0

    def current(self, uow: UnitOfWork) -> ProgrammeBook:
        with self._lock:
            if self._book is not None and time.monotonic() - self._checked_at < self.ttl:
                return self._book
        version_id = uow.programmes.latest_id()
        # a version is known by its digest: its id may name another document after the tables were emptied
        digest, document = (None, None) if version_id is None else uow.programmes.document(version_id)
        with self._lock:
            if self._book is None or digest != self._digest:
                self._book = load_reference() if document is None else parse_document(document)
                self._digest = digest
            self._checked_at = time.monotonic()
            return self._book

    def forget(self) -> None:
        with self._lock:
            self._book = None
            self._checked_at = 0.0


def load_programme(runtime: Runtime, path: str | Path | None) -> tuple[int, ProgrammeBook]:
    """Validate a rules file (None: the reference programme) and make it the programme in force."""
    book = load_reference() if path is None else load_file(path)
    with runtime.uow() as uow:
        return uow.programmes.add(book.name, book.digest, book.document), book


def ensure_programme(runtime: Runtime) -> None:
    """Make the reference programme the programme in force, unless a programme was loaded."""
    with runtime.uow() as uow:
        if uow.programmes.latest_id() is None:
            book = load_reference()
            uow.programmes.add(book.name, book.digest, book.document)


def programme_in_force(runtime: Runtime, on: date | None = None) -> Programme:
    """The rules in force on `on` (default: today on the runtime's clock) of the programme in force."""
    with runtime.uow() as uow:
        book = runtime.catalog.current(uow)
    return book.in_force(on or runtime.clock.now().date())
