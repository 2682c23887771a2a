"""`miles programme ...`: check a rules file, or load it as the programme in force."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from miles.cli.consoles import err, out
from miles.cli.database import command_runtime, database_url
from miles.cli.help_text import Command, Group

programme_app = typer.Typer(cls=Group, help="The programme's rules.", no_args_is_help=True)

RulesFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a rules file (YAML)")
]


@programme_app.command("load", cls=Command)
def programme_load(file: RulesFile) -> None:
    """Validate a rules file and make it the programme in force."""
    from miles.domain.errors import ProgrammeError
    from miles.services.programmes import load_programme

    url = database_url()
    try:
        with command_runtime(url) as runtime:
            version_id, book = load_programme(runtime, file)
    except ProgrammeError as exc:
        err.print(f"[red]{file} is not a valid programme:[/red]")
        for path, message in exc.problems:
            err.print(f"  {path}: {message}")
        raise typer.Exit(2) from exc
    dates = ", ".join(str(v.effective_from) for v in book.versions)
    out.print(f"loaded {book.name!r} as programme version {version_id} (effective from {dates})")


@programme_app.command("check", cls=Command)
def programme_check(file: RulesFile) -> None:
    """Validate a rules file without loading it."""
    from miles.domain.errors import ProgrammeError
    from miles.programme.reading import read_file

    try:
        book = read_file(file)
    except ProgrammeError as exc:
        for path, message in exc.problems:
            err.print(f"  {path}: {message}")
        raise typer.Exit(2) from exc
    out.print(f"{file}: {book.name!r}, {len(book.versions)} version(s), valid")
