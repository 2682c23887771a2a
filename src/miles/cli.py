"""The `miles` command: serve, migrate, load the programme, make API keys, run the demo."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from miles.cli_suppliers import suppliers_app
from miles.config import settings
from miles.console.agent_commands import agent_app

app = typer.Typer(help="miles: the mileage engine of a frequent-flyer programme.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
programme_app = typer.Typer(help="The programme's rules.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for booking systems.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(programme_app, name="programme")
app.add_typer(apikey_app, name="apikey")
app.add_typer(suppliers_app, name="suppliers")
app.add_typer(agent_app, name="agent")
err = Console(stderr=True)
out = Console()


def database_url(migrate_embedded: bool = True) -> str:
    """MILES_DATABASE_URL, or the embedded PostgreSQL (started, migrated, programme loaded)."""
    url = settings().database_url
    if url:
        return url
    from miles.adapters.db.embedded import embedded_database_url

    with err.status(f"starting the embedded PostgreSQL in {settings().data_dir} ..."):
        url = embedded_database_url(settings().data_dir)
    os.environ["MILES_DATABASE_URL"] = url
    settings.cache_clear()
    if migrate_embedded:
        _upgrade(url)
    return url


def _upgrade(url: str) -> None:
    from miles.adapters.db.engine import make_engine
    from miles.adapters.db.migrate import upgrade
    from miles.adapters.db.unit_of_work import UnitOfWork
    from miles.services.programmes import ensure_programme

    upgrade(url)
    engine = make_engine(url, pool_size=1)
    with UnitOfWork(engine) as uow:
        ensure_programme(uow)
    engine.dispose()


def _uow(url: str):  # type: ignore[no-untyped-def]
    from miles.adapters.db.engine import make_engine
    from miles.adapters.db.unit_of_work import UnitOfWork

    return UnitOfWork(make_engine(url, pool_size=1))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration; a database with no programme gets the reference programme."""
    url = database_url(migrate_embedded=False)
    _upgrade(url)
    out.print("[green]database is up to date[/green]")


@programme_app.command("load")
def programme_load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Validate a rules file and make it the programme in force."""
    from miles.domain.errors import ProgrammeError
    from miles.services.programmes import load_programme

    url = database_url()
    try:
        with _uow(url) as uow:
            version_id, book = load_programme(uow, file)
    except ProgrammeError as exc:
        err.print(f"[red]{file} is not a valid programme:[/red]")
        for path, message in exc.problems:
            err.print(f"  {path}: {message}")
        raise typer.Exit(2) from exc
    dates = ", ".join(str(v.effective_from) for v in book.versions)
    out.print(f"loaded {book.name!r} as programme version {version_id} (effective from {dates})")


@programme_app.command("check")
def programme_check(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Validate a rules file without loading it."""
    from miles.domain.errors import ProgrammeError
    from miles.programme.loader import load_file

    try:
        book = load_file(file)
    except ProgrammeError as exc:
        for path, message in exc.problems:
            err.print(f"  {path}: {message}")
        raise typer.Exit(2) from exc
    out.print(f"{file}: {book.name!r}, {len(book.versions)} version(s), valid")


@apikey_app.command("create")
def apikey_create(
    name: str,
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="repeat for several scopes")],
) -> None:
    """Make an API key; the key is printed once, on the last line."""
    from miles.domain.errors import InvalidInput
    from miles.services.apikeys import create_key

    url = database_url()
    try:
        with _uow(url) as uow:
            token = create_key(uow, name, scope)
    except InvalidInput as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    err.print(f"API key {name!r} with scopes {', '.join(sorted(set(scope)))} (shown once, keep it safe):")
    print(token)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="API processes")] = 1,
) -> None:
    """Run the HTTP API (and, later, the console)."""
    import uvicorn

    database_url()
    from miles.observability import UVICORN_LOG_CONFIG

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
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="comma-separated queues")] = "default,nightly",
    concurrency: Annotated[int, typer.Option(help="worker processes")] = 2,
    name: Annotated[str | None, typer.Option(help="node name (default miles-PID@host)")] = None,
) -> None:
    """Run a Celery worker (needs MILES_BROKER_URL)."""
    _need_broker()
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


@app.command()
def beat() -> None:
    """Run Celery beat: the nightly run and the periodic sweeps (needs MILES_BROKER_URL)."""
    _need_broker()
    database_url(migrate_embedded=False)
    import workers.beat  # noqa: F401  (installs the schedule)
    from workers.app import app as celery_app

    schedule = settings().data_dir / f"beat-schedule-{os.getpid()}"
    settings().data_dir.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", "--loglevel", settings().log_level.upper(), "-s", str(schedule)])


@app.command()
def nightly(
    run_date: Annotated[
        str | None, typer.Option("--date", help="the run date, YYYY-MM-DD (default: today, programme's zone)")
    ] = None,
    wait: Annotated[bool, typer.Option(help="follow the run to its end and print its report")] = True,
    timeout: Annotated[float | None, typer.Option(help="stop following after this many seconds")] = None,
) -> None:
    """Run the nightly job now (requalification, expiry, warnings) with a progress bar; print its report."""
    from miles.cli_nightly import run_nightly

    url = database_url()
    raise typer.Exit(run_nightly(url, settings().broker_url, run_date, wait, timeout, out, err))


@app.command()
def status(
    worker_timeout: Annotated[float, typer.Option(help="seconds to wait for the workers' answers")] = 1.0,
) -> None:
    """The health of the database, the broker, the workers and the last nightly run; exit code 1 when the
    database or the broker (if configured) is not healthy."""
    from miles.cli_status import show_status

    url = database_url()
    raise typer.Exit(show_status(url, settings().broker_url, out, worker_timeout))


def _need_broker() -> None:
    if not settings().broker_url:
        err.print(
            "[red]set MILES_BROKER_URL (e.g. redis://127.0.0.1:6379/0); without it jobs run in-process[/red]"
        )
        raise typer.Exit(2)


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Embedded database, reference programme, sample members; serves the API and prints a key."""
    from miles.services.apikeys import SCOPES, create_key
    from miles.services.clock import SystemClock
    from miles.services.demo import has_members, seed
    from miles.services.programmes import ProgrammeCatalog

    url = database_url()
    with _uow(url) as uow:
        numbers = [] if has_members(uow) else seed(uow, ProgrammeCatalog(), SystemClock())
    with _uow(url) as uow:
        token = create_key(uow, "demo", list(SCOPES))
    base = f"http://{host}:{port}"
    if numbers:
        out.print(f"sample members: {', '.join(numbers)}")
    member = numbers[0] if numbers else "1000000016"
    out.print(f"miles is at [bold]{base}[/bold]  (API docs: {base}/docs)")
    out.print(f"API key: [bold]{token}[/bold]")
    from miles.console.agent_commands import demo_console_users

    agent, supervisor, password = demo_console_users(url)
    out.print(
        f"console: [bold]{base}/console[/bold]  users {agent}, {supervisor}; password [bold]{password}[/bold]"
    )
    print(f"try:  curl -H 'Authorization: Bearer {token}' {base}/v1/members/{member}", flush=True)
    sys.stdout.flush()
    serve(host=host, port=port, workers=1)


if __name__ == "__main__":
    app()
