"""`miles worker` and `miles beat`: the Celery processes that run the queued jobs and the schedule."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from miles.cli.database import database_url, need_broker
from miles.config import settings


def worker(
    queues: Annotated[str, typer.Option(metavar="QUEUES", help="comma-separated queues")] = "default,nightly",
    concurrency: Annotated[int, typer.Option(metavar="N", help="worker processes")] = 2,
    name: Annotated[
        str | None, typer.Option(metavar="NAME", help="node name (default miles-PID@host)")
    ] = None,
) -> None:
    """Run a Celery worker (needs MILES_BROKER_URL)."""
    need_broker()
    database_url(migrate_embedded=False)
    from workers.app import app as celery_app

    celery_app.worker_main(
        [
            "worker",
            "--loglevel",
            settings().log_level.upper(),
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-n",
            name or f"miles-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def beat() -> None:
    """Run Celery beat: the nightly run and the periodic sweeps (needs MILES_BROKER_URL)."""
    need_broker()
    database_url(migrate_embedded=False)
    import workers.beat  # noqa: F401  (installs the schedule)
    from workers.app import app as celery_app

    schedule = settings().data_dir / f"beat-schedule-{os.getpid()}"
    settings().data_dir.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", "--loglevel", settings().log_level.upper(), "-s", str(schedule)])
