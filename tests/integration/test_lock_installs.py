"""The image's install, as deploy/Dockerfile does it, on a clean Python 3.11 and 3.12: every package of
requirements.lock from its hash alone (`--require-hashes --no-deps`), then the project itself without a
build environment (`--no-deps --no-build-isolation`). What comes out is complete (pip check, every entry
point's imports), leaves out the embedded PostgreSQL, and a command that would need it says how to get it.
The lock files themselves are checked first, cheaply: hashed pins, markers kept, the two files agreeing.
Regenerate both with `bash tests/tools/lock.sh`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHONS = ("3.11", "3.12")
# what the image's roles import: the API, the Celery app, and the libraries under them
IMPORTS = "import miles.api.asgi, workers.app, redis, celery, sqlalchemy, psycopg"
# the embedded PostgreSQL and what only it needs stay out of the image
EMBEDDED_ONLY = {"pgserver", "fasteners", "platformdirs", "psutil"}


@dataclass
class Requirement:
    name: str
    version: str
    marker: str
    hashes: list[str] = field(default_factory=list)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(path: Path) -> dict[str, Requirement]:
    """Each requirement of a pip requirements file, its continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    found: dict[str, Requirement] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()  # no "#" in a pin, a marker or a hash
        if not line:
            continue
        spec, *options = re.split(r"\s+(?=--)", line)
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?", spec.strip())
        assert match, f"{path.name}: {spec!r} is not one package pinned with =="
        name, version, marker = match.group(1), match.group(2), (match.group(3) or "").strip()
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=")]
        assert len(hashes) == len(options), f"{path.name}: {name} has an option other than --hash"
        found[_canonical(name)] = Requirement(_canonical(name), version, marker, hashes)
    return found


def _via(path: Path) -> dict[str, set[str]]:
    """uv's annotations: which packages each pin is there for."""
    via: dict[str, set[str]] = {}
    current = ""
    for line in path.read_text().splitlines():
        if match := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==", line):
            current = _canonical(match.group(1))
            via[current] = set()
        elif current and (match := re.match(r"\s+#\s+(?:via\s+)?([A-Za-z0-9][A-Za-z0-9._-]*)\s*$", line)):
            via[current].add(_canonical(match.group(1)))
    return via


def test_every_package_of_the_runtime_lock_is_pinned_and_hashed() -> None:
    runtime = _requirements(ROOT / "requirements.lock")
    assert len(runtime) > 40
    unhashed = [r.name for r in runtime.values() if not r.hashes]
    assert not unhashed, f"requirements.lock: no --hash for {unhashed}"
    for requirement in runtime.values():
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in requirement.hashes), requirement
    # wheels for several platforms: one hash per file of the release, not only this machine's wheel
    assert len(runtime["psycopg-binary"].hashes) > 10
    assert len(runtime["pydantic-core"].hashes) > 10


def test_the_runtime_lock_keeps_environment_markers() -> None:
    runtime = _requirements(ROOT / "requirements.lock")
    # redis imports async-timeout on Python < 3.11.3: a lock frozen on 3.11.7 lost it
    assert runtime["async-timeout"].marker.replace('"', "'") == "python_full_version < '3.11.3'"
    assert "redis" in runtime
    assert "win32" in runtime["uvloop"].marker


def test_the_runtime_lock_builds_the_project_and_leaves_out_the_embedded_postgresql() -> None:
    runtime = _requirements(ROOT / "requirements.lock")
    assert {"setuptools", "wheel"} <= set(runtime), "`pip install --no-build-isolation .` needs them"
    assert not EMBEDDED_ONLY & set(runtime)
    dev = ROOT / "requirements-dev.lock"
    only_for_pgserver = {name for name, parents in _via(dev).items() if parents == {"pgserver"}}
    assert only_for_pgserver, "requirements-dev.lock lost uv's '# via' annotations"
    assert not (only_for_pgserver | {"pgserver"}) & set(runtime)


def test_the_dev_constraints_agree_with_the_runtime_lock_and_add_the_extras() -> None:
    runtime = _requirements(ROOT / "requirements.lock")
    dev = _requirements(ROOT / "requirements-dev.lock")
    assert all(not r.hashes for r in dev.values()), "pip refuses hashes in a constraints file"
    build = {"setuptools", "wheel"}
    assert {n: dev[n].version for n in set(runtime) - build} == {
        n: runtime[n].version for n in set(runtime) - build
    }
    assert {n: dev[n].marker for n in set(runtime) - build} == {
        n: runtime[n].marker for n in set(runtime) - build
    }
    assert {"pgserver", "pytest", "mypy", "ruff", "playwright"} <= set(dev)


def _python(version: str) -> Path:
    """pyenv's CPython `version` (this machine kind's; CI runs here), else one on PATH: never a skip."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True)
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    pytest.fail(
        f"no Python {version} with venv: looked in {root}/versions/{version}.* and PATH "
        f"(this machine kind has pyenv's; install one to run this test)"
    )


def _clean_env() -> dict[str, str]:
    """The environment without this run's venv, PYTHONPATH or MILES_* settings (pip's config stays)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILES_", "PYTHON", "VIRTUAL_ENV"))}
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@dataclass
class Installed:
    python: str
    seconds: float
    steps: list[tuple[str, subprocess.CompletedProcess[str]]]
    timings: dict[str, float]

    def step(self, name: str) -> subprocess.CompletedProcess[str]:
        return dict(self.steps)[name]


def _install_as_the_image_does(version: str, python: Path, tmp: Path) -> Installed:
    started = time.monotonic()
    env = _clean_env()
    source = tmp / "src"  # a copy, as the image's build stage has: building in place would write to the repo
    for part in ("src", "workers"):
        shutil.copytree(
            ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    for part in ("pyproject.toml", "README.md", "alembic.ini"):
        shutil.copy2(ROOT / part, source / part)
    venv = tmp / "venv"
    bin_ = venv / "bin"
    steps: list[tuple[str, subprocess.CompletedProcess[str]]] = []
    timings: dict[str, float] = {}

    def run(name: str, *command: str | Path, extra_env: dict[str, str] | None = None) -> bool:
        step_started = time.monotonic()
        done = subprocess.run(
            [str(c) for c in command],
            capture_output=True,
            text=True,
            cwd=tmp,
            env={**env, **(extra_env or {})},
            timeout=900,
        )
        steps.append((name, done))
        timings[name] = time.monotonic() - step_started
        return done.returncode == 0

    pip = (bin_ / "python", "-m", "pip", "install", "-q")
    lock = ("--no-compile", "--require-hashes", "--no-deps", "-r", ROOT / "requirements.lock")
    # each step only once the one before succeeded; the test reports the first that failed
    if (
        run("venv", python, "-m", "venv", venv)
        and run("lock", *pip, *lock)
        and run("project", *pip, "--no-deps", "--no-build-isolation", source)
    ):
        run("check", bin_ / "python", "-m", "pip", "check")
        run("imports", bin_ / "python", "-c", f"{IMPORTS}; import miles; print(miles.__file__)")
        run("pgserver", bin_ / "python", "-c", "import importlib.util as u; print(u.find_spec('pgserver'))")
        run("embedded", bin_ / "miles", "db", "upgrade", extra_env={"MILES_DATA_DIR": str(tmp / "data")})
    return Installed(version, time.monotonic() - started, steps, timings)


def _report(installed: Installed, name: str) -> str:
    done = installed.step(name)
    return f"Python {installed.python}, {name}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_the_lock_installs_and_runs_on_a_clean_python_3_11_and_3_12(tmp_path: Path) -> None:
    pythons = {version: _python(version) for version in PYTHONS}
    with ThreadPoolExecutor(len(pythons)) as pool:  # the two installs wait on the network and disk
        results = list(pool.map(lambda v: _install_as_the_image_does(v, pythons[v], tmp_path / v), pythons))
    for installed in results:
        each = ", ".join(f"{name} {seconds:.1f}" for name, seconds in installed.timings.items())
        print(f"Python {installed.python}: installed and checked in {installed.seconds:.1f} s ({each})")
        for name in ("venv", "lock", "project", "check", "imports", "pgserver"):
            assert installed.step(name).returncode == 0, _report(installed, name)
        site = str(tmp_path / installed.python / "venv")
        assert installed.step("imports").stdout.strip().startswith(site), "not the installed copy"
        assert installed.step("pgserver").stdout.strip() == "None", "pgserver is in the image"
        embedded = installed.step("embedded")
        assert embedded.returncode == 2, _report(installed, "embedded")
        message = " ".join(embedded.stderr.replace("│", " ").split())
        assert "miles[embedded]" in message, message
        assert "MILES_DATABASE_URL" in message, message
