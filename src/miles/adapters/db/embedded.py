"""The embedded default: a local PostgreSQL (pgserver) in a data folder kept between runs."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

_servers: dict[Path, Any] = {}

NOT_INSTALLED = (
    "the embedded PostgreSQL needs pgserver, which is not installed: install miles[embedded] "
    "(in a checkout: pip install -e '.[embedded]'), or set MILES_DATABASE_URL to a PostgreSQL server "
    "(postgresql://user@host:port/db)"
)


class EmbeddedNotInstalled(RuntimeError):
    """No MILES_DATABASE_URL and no pgserver (the `embedded` extra, left out of the image): the `miles`
    command prints the message and exits 2, as for any other setting it can't work with."""

    def __init__(self) -> None:
        super().__init__(NOT_INSTALLED)


def embedded_database_url(data_dir: Path, database: str = "miles") -> str:
    """Start (or join) the embedded server and make sure `database` exists; a plain postgresql:// URL."""
    with warnings.catch_warnings():  # pgserver asks platformdirs for a runtime dir it does not need
        warnings.simplefilter("ignore")
        try:
            import pgserver  # imported late: only the embedded default needs it
        except ModuleNotFoundError as exc:
            if exc.name != "pgserver":  # pgserver is there but broken: that traceback is the news
                raise
            raise EmbeddedNotInstalled() from None

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _servers.get(pgdata)
    if server is None:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent))
        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        _servers[pgdata] = server
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return f"postgresql://postgres@/{database}?host={pgdata}"
