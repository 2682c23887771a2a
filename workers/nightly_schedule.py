"""Beat entries of the nightly run: the run at 02:00 in the programme's time zone, the chunk reconciler
and the expiry warnings relay.

The programme's time zone is in its rules file, in the database: the crontab reads it from there (and
again every hour, so that a newly loaded programme moves the schedule without restarting beat). Two beat
processes may both fire the run: the run row is unique per programme and date, so the second one joins.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from sqlalchemy.exc import SQLAlchemyError

from miles.config import settings
from miles.services.nightly.runs import RECONCILE_JOB, START_JOB, WARNINGS_JOB
from miles.services.programmes import programme_in_force

log = logging.getLogger("miles.workers")
_REFRESH_SECONDS = 3600.0
_lock = threading.Lock()
_zone: tuple[float, str] | None = None  # (checked at, zone name)


def _zone_from_database() -> str:
    from workers.tasks import runtime

    return programme_in_force(runtime(), datetime.now(UTC).date()).timezone


zone_lookup: Callable[[], str] = _zone_from_database  # tests put their own


def programme_timezone() -> str:
    """The time zone of the programme in force, from the database (cached for an hour; UTC if unknown)."""
    global _zone
    with _lock:
        if _zone is not None and time.monotonic() - _zone[0] < _REFRESH_SECONDS:
            return _zone[1]
        previous = _zone[1] if _zone is not None else "UTC"
        try:
            zone = zone_lookup()
        except (SQLAlchemyError, OSError) as exc:  # the database is down: keep the zone, retry in a minute
            log.warning("could not read the programme's time zone (%s); using %s", exc, previous)
            _zone = (time.monotonic() - _REFRESH_SECONDS + 60, previous)
            return previous
        _zone = (time.monotonic(), zone)
        return zone


class ProgrammeCrontab(crontab):  # type: ignore[misc]
    """A crontab whose hours and minutes are read in the programme's time zone."""

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(programme_timezone())


def parse_time_of_day(value: str) -> tuple[int, int]:
    hour, _, minute = value.partition(":")
    h, m = int(hour), int(minute or 0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"not a time of day: {value!r} (HH:MM)")
    return h, m


def forget_timezone() -> None:
    global _zone
    with _lock:
        _zone = None


def nightly_entries() -> dict[str, dict[str, Any]]:
    s = settings()
    nightly: Any
    if s.nightly_every_seconds:
        nightly = timedelta(seconds=s.nightly_every_seconds)
    else:
        hour, minute = parse_time_of_day(s.nightly_at)
        nightly = ProgrammeCrontab(minute=minute, hour=hour)
    return {
        "nightly-run": {"task": START_JOB, "schedule": nightly},
        "nightly-reconcile": {
            "task": RECONCILE_JOB,
            "schedule": timedelta(seconds=s.nightly_reconcile_seconds),
        },
        "expiry-warnings": {"task": WARNINGS_JOB, "schedule": timedelta(seconds=s.warnings_relay_seconds)},
    }
