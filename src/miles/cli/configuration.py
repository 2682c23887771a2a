"""The environment's settings, read once before any command: a mistake in a MILES_* variable is one line
naming the variable, never a traceback."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from miles.cli.consoles import err
from miles.config import settings


def check_settings() -> None:
    """Exit 2 with one line per wrong MILES_* variable."""
    try:
        settings()
    except ValidationError as exc:
        for problem in exc.errors():
            name = "MILES_" + "_".join(str(part) for part in problem["loc"][:1]).upper()
            err.print(f"{name}: {problem['msg']}", markup=False, highlight=False)
        raise typer.Exit(2) from None
