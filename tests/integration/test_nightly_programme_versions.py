"""A night reads the rules of the programme version it was started with, even when another database (or
an earlier test, before the tables were emptied) had a different document under the same version id."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from miles.services.programmes import ensure_programme
from tests.integration.conftest import reset
from tests.integration.nightly_data import load_inactivity_programme, night_runner, run_night


def test_a_version_id_reused_for_another_document_runs_that_document(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    with night_runner(database_url) as night:
        load_inactivity_programme(night, tmp_path)  # version 1: the inactivity variant
        first = run_night(night, date(2028, 3, 1))
    assert (first.programme, first.expiry.policy) == ("Aurora Miles (inactivity)", "inactivity")
    reset(engine)
    with night_runner(database_url) as night:
        ensure_programme(night)  # version 1 again: the reference programme
        second = run_night(night, date(2028, 3, 1))
    assert (second.programme, second.expiry.policy) == ("Aurora Miles", "lots")
