"""Reading a rules file: parse YAML, validate every key with its path (format 2, or format 1 read as
format 2), map it to the domain's rules. The stored document is always format 2."""

from __future__ import annotations

import bisect
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from miles.domain.errors import ProgrammeError
from miles.domain.programme.model import Programme
from miles.programme.build import build_version
from miles.programme.crosscheck import crosscheck
from miles.programme.format1 import as_format2
from miles.programme.format1_spec import ProgrammeFile as Format1File
from miles.programme.spec import ProgrammeFile

REFERENCE_FILE = "aurora.yaml"
EXAMPLES = "examples"


@dataclass(frozen=True)
class ProgrammeBook:
    """Every version of one programme, in effective-date order."""

    name: str
    versions: tuple[Programme, ...]
    document: dict[str, Any]  # the validated file in format 2, JSON-ready, as stored in the database
    digest: str

    @property
    def metric_codes(self) -> tuple[str, ...]:
        """The metrics in their stored order: the newest version's (a later version only appends)."""
        return self.versions[-1].metric_codes

    @property
    def timezone(self) -> str:
        """The zone the programme's dates are read in: the newest version's."""
        return self.versions[-1].timezone

    def in_force(self, on: date) -> Programme:
        starts = [v.effective_from for v in self.versions]
        index = bisect.bisect_right(starts, on) - 1
        return self.versions[max(index, 0)]


def reference_text() -> str:
    return resources.files("miles.programme").joinpath(REFERENCE_FILE).read_text(encoding="utf-8")


def read_reference() -> ProgrammeBook:
    return read_text(reference_text(), source=REFERENCE_FILE)


def example_files() -> list[Path]:
    """The shipped example programmes (rules format 2)."""
    folder = resources.files("miles.programme").joinpath(EXAMPLES)
    return sorted(Path(str(folder)).glob("*.yaml"))


def read_file(path: str | Path) -> ProgrammeBook:
    return read_text(Path(path).read_text(encoding="utf-8"), source=str(path))


def read_text(text: str, source: str = "<rules>") -> ProgrammeBook:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else source
        raise ProgrammeError([(where, f"not valid YAML: {exc}")]) from exc
    return read_document(raw)


def _validate(model: type[Format1File] | type[ProgrammeFile], raw: Any) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ProgrammeError([(_path(err["loc"]), _message(err["msg"])) for err in exc.errors()]) from exc


def read_document(raw: Any) -> ProgrammeBook:
    """A rules document (format 2; without a `format` key, format 1) as a book of domain rules."""
    if isinstance(raw, dict) and "format" not in raw:
        raw = as_format2(_validate(Format1File, raw))
    spec: ProgrammeFile = _validate(ProgrammeFile, raw)
    problems = crosscheck(spec)
    if problems:
        raise ProgrammeError(problems)
    document = spec.model_dump(mode="json", exclude={"versions": {"__all__": {"classes"}}})
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    versions = sorted(
        (build_version(v, spec.programme) for v in spec.versions), key=lambda p: p.effective_from
    )
    return ProgrammeBook(name=spec.programme, versions=tuple(versions), document=document, digest=digest)


def _message(message: str) -> str:
    """pydantic's message without its "Value error, " prefix (the rule's own words)."""
    return message.removeprefix("Value error, ")


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"
