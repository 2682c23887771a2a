"""The programme in force: the newest loaded rules file, else the shipped reference programme."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from miles.adapters.db.tier_reached import TierReachedRepository
from miles.adapters.db.unit_of_work import UnitOfWork
from miles.domain.errors import ProgrammeError
from miles.programme.reading import ProgrammeBook, read_document, read_file, read_reference
from miles.services.clock import today

if TYPE_CHECKING:
    from miles.domain.programme.model import Programme
    from miles.services.runtime import Runtime

log = logging.getLogger(__name__)


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
                self._book = read_reference() if document is None else read_document(document)
                self._digest = digest
            self._checked_at = time.monotonic()
            return self._book

    def forget(self) -> None:
        with self._lock:
            self._book = None
            self._checked_at = 0.0


def load_programme(runtime: Runtime, path: str | Path | None) -> tuple[int, ProgrammeBook]:
    """Validate a rules file (None: the reference programme) and make it the programme in force."""
    book = read_reference() if path is None else read_file(path)
    listed = [i for i, v in enumerate(book.versions) if v.promotions]
    if listed:
        raise ProgrammeError(
            [
                (
                    f"versions[{i}].promotions",
                    "promotions are campaigns now: create them with POST /v1/promotions",
                )
                for i in listed
            ]
        )
    with runtime.uow() as uow:
        TierReachedRepository(uow.connection).take_turn()  # loads and upgrades install one at a time
        check_compatible(uow, runtime.catalog.current(uow), book)
        version_id = uow.programmes.add(book.name, book.digest, book.document)
        keep_tiers_reached(uow, book, today(runtime.clock, book.timezone))
        return version_id, book


def check_compatible(uow: UnitOfWork, current: ProgrammeBook, new: ProgrammeBook) -> None:
    """What the database holds stays readable: every tier a member holds is a tier of the new programme,
    and, once members exist, the stored metrics keep their order (the new programme appends only)."""
    latest = new.versions[-1]
    problems = []
    held = [tier for tier in uow.members.tiers_held() if tier not in latest.ladder]
    if held:
        problems.append(("tiers", f"members hold tiers the programme does not have: {', '.join(held)}"))
    stored = current.metric_codes
    if uow.members.count() and latest.metric_codes[: len(stored)] != stored:
        problems.append(
            ("metrics", f"members have qualifying totals of {list(stored)}: keep them first, in that order")
        )
    if problems:
        raise ProgrammeError(problems)


def ensure_programme(runtime: Runtime) -> int:
    """Make the reference programme the programme in force, unless a programme was loaded; and the tier
    each period's totals reach that of the thresholds in force today: the periods written again."""
    with runtime.uow() as uow:
        TierReachedRepository(uow.connection).take_turn()  # a load committing meanwhile is seen below
        if uow.programmes.latest_id() is None:
            book = read_reference()
            uow.programmes.add(book.name, book.digest, book.document)
        runtime.catalog.forget()  # the newest load, not what this process read a moment ago
        book = runtime.catalog.current(uow)
        return keep_tiers_reached(uow, book, today(runtime.clock, book.timezone))


def keep_tiers_reached(uow: UnitOfWork, book: ProgrammeBook, on: date) -> int:
    """The tier-reached function made the thresholds' in force on `on`, and the stored values with it (a
    programme whose thresholds change rewrites the periods' rows it changes, in this transaction): the
    periods written again."""
    rewritten = TierReachedRepository(uow.connection).install(book.in_force(on)) or 0
    if rewritten:
        log.info("the tier reached of %d qualification period(s) written again for %s", rewritten, book.name)
    return rewritten


def programme_in_force(runtime: Runtime, on: date | None = None) -> Programme:
    """The rules in force on `on` (default: today on the runtime's clock) of the programme in force."""
    with runtime.uow() as uow:
        book = runtime.catalog.current(uow)
    return book.in_force(on or runtime.clock.now().date())
