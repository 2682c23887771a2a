"""Beat's nightly entry: 02:00 in the programme's time zone, whatever zone beat itself runs in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from workers import nightly_schedule
from workers.app import app
from workers.nightly_schedule import ProgrammeCrontab, nightly_entries, parse_time_of_day


@pytest.fixture
def tokyo() -> Iterator[None]:
    nightly_schedule.zone_lookup = lambda: "Asia/Tokyo"
    nightly_schedule.forget_timezone()
    yield
    nightly_schedule.zone_lookup = nightly_schedule._zone_from_database
    nightly_schedule.forget_timezone()


def crontab_at(now: datetime) -> ProgrammeCrontab:
    return ProgrammeCrontab(minute=0, hour=2, nowfun=lambda: now, app=app)


@pytest.mark.usefixtures("tokyo")
def test_the_night_starts_at_two_in_the_programmes_time_zone() -> None:
    last_run = datetime(2028, 2, 29, 17, 0, tzinfo=UTC)  # 2028-03-01 02:00 in Tokyo
    before = crontab_at(datetime(2028, 3, 1, 16, 59, tzinfo=UTC))  # 01:59 Tokyo on 2028-03-02
    due, _ = before.is_due(last_run)
    assert not due
    assert before.remaining_estimate(last_run) == timedelta(minutes=1)
    at_two = crontab_at(datetime(2028, 3, 1, 17, 0, 5, tzinfo=UTC))  # 02:00:05 Tokyo
    due, _ = at_two.is_due(last_run)
    assert due


def test_an_unreachable_database_leaves_the_zone_it_knew(monkeypatch: pytest.MonkeyPatch) -> None:
    def down() -> str:
        raise ConnectionError("no database")

    monkeypatch.setattr(nightly_schedule, "zone_lookup", down)
    nightly_schedule.forget_timezone()
    assert nightly_schedule.programme_timezone() == "UTC"
    nightly_schedule.forget_timezone()


def test_beat_runs_the_night_the_reconciler_and_the_warnings_relay() -> None:
    entries = nightly_entries()
    assert {e["task"] for e in entries.values()} == {
        "miles.nightly.start",
        "miles.nightly.reconcile",
        "miles.nightly.warnings",
    }
    assert isinstance(entries["nightly-run"]["schedule"], ProgrammeCrontab)
    assert parse_time_of_day("02:00") == (2, 0)
    with pytest.raises(ValueError, match="time of day"):
        parse_time_of_day("25:00")
