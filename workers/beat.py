"""The beat schedule: periodic sweeps; each module's jobs add their own entries here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from workers.app import app

SCHEDULE: dict[str, dict[str, Any]] = {
    "relay-outbox": {"task": "miles.outbox.relay", "schedule": timedelta(seconds=5)},
}

app.conf.beat_schedule = SCHEDULE
