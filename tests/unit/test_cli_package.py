"""The `miles` command is a package whose modules form no import circle."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import miles.cli

PACKAGE = Path(miles.cli.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_command_module_imports_the_app_that_assembles_it() -> None:
    offenders = [
        path.name
        for path in PACKAGE.glob("*.py")
        if path.name not in {"__init__.py", "__main__.py"} and "miles.cli" in _imports(path)
    ]
    assert offenders == []


def test_nothing_outside_the_cli_imports_it() -> None:
    source = PACKAGE.parent
    offenders = [
        str(path.relative_to(source))
        for path in source.rglob("*.py")
        if PACKAGE not in path.parents
        and any(name == "miles.cli" or name.startswith("miles.cli.") for name in _imports(path))
    ]
    assert offenders == []


def test_the_command_modules_import_one_another_without_a_circle() -> None:
    graph = {
        f"miles.cli.{path.stem}": {
            name
            for name in _imports(path)
            if name.startswith("miles.cli.") and name != f"miles.cli.{path.stem}"
        }
        for path in PACKAGE.glob("*.py")
        if path.name not in {"__init__.py", "__main__.py"}
    }

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    assert [module for module in graph if reaches(module, module, {module})] == []


def _command_paths() -> list[list[str]]:
    from typer.main import get_command

    paths: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(get_command(miles.cli.app), [])
    return paths


def test_every_help_page_names_its_values_without_type_labels() -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    pages = {
        " ".join(path) or "miles": runner.invoke(miles.cli.app, [*path, "--help"])
        for path in _command_paths()
    }
    assert len(pages) >= 17
    for name, result in pages.items():
        assert result.exit_code == 0, name
        assert not re.search(r"<[a-z][a-z\[\], ]*>|\{\w+\}", result.output), (name, result.output)
    assert "later" not in pages["serve"].output
    assert "SCOPE" in pages["apikey create"].output
    assert "FILE" in pages["programme load"].output


def test_a_wrong_setting_is_one_line_naming_the_variable_not_a_traceback() -> None:
    environment = {**os.environ, "MILES_TRUSTED_PROXIES": "10.0.0.1,not-an-ip", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "miles.cli", "status"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "MILES_TRUSTED_PROXIES" in done.stderr
    assert "not-an-ip" in done.stderr
    assert "Traceback" not in done.stderr
