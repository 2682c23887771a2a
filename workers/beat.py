"""The beat schedule: periodic sweeps; each module's jobs add their own entries here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from workers.app import app
from workers.nightly_schedule import nightly_entries

SCHEDULE: dict[str, dict[str, Any]] = {
    "relay-outbox": {"task": "miles.outbox.relay", "schedule": timedelta(seconds=5)},
    # quiet redemption sagas: book again, settle expired holds from the suppliers' answers, finish
    # cancellations, release failed bookings
    "sweep-redemptions": {"task": "miles.redemptions.sweep", "schedule": timedelta(seconds=10)},
    **nightly_entries(),  # the nightly run at 02:00 in the programme's time zone, its reconciler, warnings
}

app.conf.beat_schedule = SCHEDULE
