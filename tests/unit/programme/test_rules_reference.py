"""docs/programme-rules.md holds to the loader: every whole rules file it shows loads, and every row of its
table of mistakes is what the loader reports for that change to the first file of the page."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from miles.domain.errors import ProgrammeError
from miles.programme.reading import read_document, read_text

DOC = Path(__file__).parents[3] / "docs" / "programme-rules.md"
TEXT = DOC.read_text(encoding="utf-8")
MISTAKES_HEADING = "## Mistakes the loader reports"
BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.DOTALL | re.MULTILINE)
STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def whole_files() -> list[str]:
    """The fenced YAML blocks that are whole rules files (they start with `format: 2`)."""
    return [block for block in BLOCK.findall(TEXT) if block.startswith("format: 2")]


def mistake_rows() -> list[tuple[str, str, str]]:
    """(change, path, message) of each row of the table of mistakes."""
    section = TEXT.split(MISTAKES_HEADING, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) != 4 or not cells[1].startswith("`"):
            continue  # prose, the header, the separator
        rows.append((unquote(cells[1]), unquote(cells[2]), unquote(cells[3])))
    return rows


def unquote(cell: str) -> str:
    """A cell's text: without its backticks when the whole cell is one code span."""
    if cell.startswith("`") and cell.endswith("`") and cell.count("`") == 2:
        return cell[1:-1]
    return cell


def changed(document: dict[str, Any], change: str) -> dict[str, Any]:
    """The document with one `key.path[i]: yaml value` set (or added) below its first version."""
    path, value = change.split(": ", 1)
    steps = [int(index) if index else name for name, index in STEP.findall(path)]
    out = copy.deepcopy(document)
    node = out["versions"][0]
    for step in steps[:-1]:
        node = node[step]
    last, new = steps[-1], yaml.safe_load(value)
    if isinstance(node, list) and last == len(node):
        node.append(new)  # one past the end adds an item
    else:
        node[last] = new
    return out


def test_the_page_shows_whole_files_and_a_table_of_mistakes() -> None:
    # guards the two tests below against finding nothing to check
    assert len(whole_files()) >= 2
    assert len(mistake_rows()) >= 30


@pytest.mark.parametrize("block", whole_files(), ids=lambda b: f"{len(b.splitlines())}-lines")
def test_every_whole_rules_file_on_the_page_loads(block: str) -> None:
    book = read_text(block, source=str(DOC))
    assert book.versions


def test_the_first_file_is_tiny_miles_the_start_of_every_mistake() -> None:
    book = read_text(whole_files()[0])
    assert book.name == "Tiny Miles"
    assert book.versions[0].ladder.codes == ("BASIC", "SILVER", "GOLD")


@pytest.mark.parametrize(("change", "path", "message"), mistake_rows(), ids=lambda v: v[:60])
def test_each_mistake_is_reported_with_the_path_and_message_the_page_gives(
    change: str, path: str, message: str
) -> None:
    document = yaml.safe_load(whole_files()[0])
    with pytest.raises(ProgrammeError) as caught:
        read_document(changed(document, change))
    assert caught.value.problems == [(path, message)]
