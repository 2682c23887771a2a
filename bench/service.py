"""The system under test, driven only through its `miles` command: migrate, make a key, serve."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

SCOPES = ("accrual:write", "member:write", "member:read")


def miles_exe() -> str:
    beside = Path(sys.executable).parent / "miles"
    if beside.exists():
        return str(beside)
    found = shutil.which("miles")
    if found is None:
        raise RuntimeError("the `miles` command is not installed in this environment")
    return found


def miles_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["MILES_DATABASE_URL"] = db_url
    return env


def run_cli(args: list[str], db_url: str, timeout: float = 300) -> str:
    cmd = [miles_exe(), *args]
    done = subprocess.run(
        cmd, env=miles_env(db_url), capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"`miles {' '.join(args)}` failed with exit code {done.returncode}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done.stdout


def migrate(db_url: str) -> None:
    run_cli(["db", "upgrade"], db_url)


def load_programme(db_url: str, path: Path) -> str:
    """`miles programme load FILE`: the programme in force from now on (before any member exists)."""
    return run_cli(["programme", "load", str(path)], db_url).strip()


def create_api_key(db_url: str, name: str = "bench") -> str:
    args = ["apikey", "create", name]
    for scope in SCOPES:
        args += ["--scope", scope]
    lines = [line.strip() for line in run_cli(args, db_url).splitlines() if line.strip()]
    if not lines:
        raise RuntimeError("`miles apikey create` printed nothing")
    return lines[-1]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MilesServer:
    """`miles serve` as a child process in its own process group, its output kept in a log file."""

    def __init__(self, db_url: str, workers: int, log_path: Path, host: str = "127.0.0.1") -> None:
        self.db_url = db_url
        self.workers = workers
        self.host = host
        self.port = free_port(host)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        cmd = [miles_exe(), "serve", "--host", self.host, "--port", str(self.port)]
        cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(
            cmd,
            env=miles_env(self.db_url),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_healthy(self, timeout: float = 60) -> float:
        """Poll /healthz until it answers 200; returns the seconds it took."""
        started = time.monotonic()
        last_error = "no answer yet"
        with httpx.Client(timeout=2) as client:
            while time.monotonic() - started < timeout:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(
                        f"`miles serve` exited with code {self.proc.returncode}\n{self.log_tail()}"
                    )
                try:
                    response = client.get(f"{self.base_url}/healthz")
                    if response.status_code == 200:
                        # Every worker must be up, not just the first: give the others a moment.
                        time.sleep(1.0 if self.workers > 1 else 0)
                        return time.monotonic() - started
                    last_error = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last_error = repr(exc)
                time.sleep(0.2)
        raise RuntimeError(f"/healthz not ready after {timeout:.0f} s ({last_error})\n{self.log_tail()}")

    def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
