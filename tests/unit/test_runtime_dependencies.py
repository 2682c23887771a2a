"""What `pip install -e .` installs is enough to run: every module the code imports is the standard
library's, the project's own, or given by a runtime dependency (not only by the dev tools)."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
CODE = [*sorted((ROOT / "src" / "miles").rglob("*.py")), *sorted((ROOT / "workers").rglob("*.py"))]


def _runtime_distributions() -> set[str]:
    """The runtime dependencies and, transitively, what they require on this Python (with the extras asked)."""
    declared = [
        Requirement(r)
        for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    wanted = [(canonicalize_name(r.name), frozenset(r.extras)) for r in declared]
    seen: set[str] = set()
    while wanted:
        name, extras = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in requires(name) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in (*extras, "")):
                wanted.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return seen


def _imported_top_levels(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_every_import_of_the_code_is_installed_by_the_runtime_dependencies() -> None:
    providers = packages_distributions()
    runtime = _runtime_distributions()
    missing: dict[str, list[str]] = {}
    for path in CODE:
        for module in _imported_top_levels(path):
            if module in sys.stdlib_module_names or module in ("miles", "workers", "__future__"):
                continue
            if (module, path.name) == ("pgserver", "embedded.py"):
                continue  # the `embedded` extra: without it embedded.py says how to install it (exit 2)
            distributions = {canonicalize_name(d) for d in providers.get(module, [])}
            if not distributions & runtime:
                missing.setdefault(module, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"imported but not installed by `pip install -e .`: {missing}"
