"""The programme in force: the newest loaded rules file, else the shipped reference programme."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from miles.adapters.db.unit_of_work import UnitOfWork
from miles.programme.loader import ProgrammeBook, load_file, load_reference, parse_document


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


def load_programme(uow: UnitOfWork, path: str | Path | None) -> tuple[int, ProgrammeBook]:
    """Validate a rules file (None: the reference programme) and make it the programme in force."""
    book = load_reference() if path is None else load_file(path)
    version_id = uow.programmes.add(book.name, book.digest, book.document)
    return version_id, book


def ensure_programme(uow: UnitOfWork) -> None:
    if uow.programmes.latest_id() is None:
        load_programme(uow, None)
