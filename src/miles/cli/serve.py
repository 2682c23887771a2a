"""`miles serve`: the HTTP API and the console, in one or several processes."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Annotated

import typer

from miles.cli.consoles import err
from miles.cli.database import database_url
from miles.config import settings

DRAIN_SECONDS = 20  # how long `miles serve` lets requests in flight finish after SIGTERM

Host = Annotated[str, typer.Option(metavar="ADDRESS", help="the address to listen on")]
Port = Annotated[int, typer.Option(metavar="PORT", min=1, max=65535, help="the TCP port to listen on")]


def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option(metavar="N", min=1, help="API processes")] = 1,
) -> None:
    """Run the HTTP API and the agents' console (/console)."""
    database_url()
    run_server(host, port, workers)


def run_server(host: str, port: int, workers: int) -> None:
    """uvicorn on the API's factory; with several processes their metrics are summed through files."""
    import uvicorn

    from miles.observability import UVICORN_LOG_CONFIG

    proxies = settings().trusted_proxies  # X-Forwarded-For believed from these peers only; none by default
    metrics_dir = None
    if workers > 1:  # each process keeps its counters in files there; /metrics sums them (see api/metrics.py)
        try:
            metrics_dir = tempfile.mkdtemp(prefix="miles-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        except OSError as exc:
            err.print(
                f"[yellow]no folder for the metrics of {workers} processes ({exc}): each process's /metrics "
                "will count only its own requests; set TMPDIR to a writable folder[/yellow]"
            )
    try:
        uvicorn.run(
            "miles.api.asgi:create",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings().log_level,
            log_config=UVICORN_LOG_CONFIG,
            access_log=False,
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or "",
            # after SIGTERM: stop accepting, finish the requests in flight for up to this long, then close
            # (deploy/: a preStop delay before it, the pod's grace period after it)
            timeout_graceful_shutdown=DRAIN_SECONDS,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
