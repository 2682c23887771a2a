"""The `miles` command is a package whose modules form no import circle."""

from __future__ import annotations

import ast
from pathlib import Path

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
