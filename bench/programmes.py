"""Which programme a benchmark runs: `--programme FILE` (default: the reference) or `--all-programmes` (the
reference, then every shipped example), read with the engine's own loader."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

if TYPE_CHECKING:
    from miles.programme.reading import ProgrammeBook


@dataclass(frozen=True)
class Choice:
    """A programme to benchmark: its file, its rules and whether it is the reference (Aurora)."""

    path: Path
    book: ProgrammeBook
    reference: bool

    @property
    def label(self) -> str:
        """The file's stem (`aurora`, `flying-blue`, ...): short enough for a table column."""
        return self.path.stem


def reference_path() -> Path:
    from importlib import resources

    from miles.programme.reading import REFERENCE_FILE

    return Path(str(resources.files("miles.programme").joinpath(REFERENCE_FILE)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--programme",
        type=Path,
        help="a rules file (format 2) loaded with `miles programme load` before members are created "
        "(default: the reference programme, src/miles/programme/aurora.yaml)",
    )
    group.add_argument(
        "--all-programmes",
        action="store_true",
        help="the reference, then every example of src/miles/programme/examples/, each on a fresh database",
    )


def chosen(args: argparse.Namespace) -> list[Choice]:
    """The programmes the options ask for, in the order they are run."""
    from miles.programme.reading import example_files, read_file, read_reference

    reference = read_reference()
    if args.all_programmes:
        paths = [reference_path(), *example_files()]
    else:
        paths = [args.programme or reference_path()]
    out = []
    for path in paths:
        book = read_file(path)
        out.append(Choice(Path(path), book, book.digest == reference.digest))
    return out
