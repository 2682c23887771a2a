"""A role started as its image starts it in Kubernetes: the `miles` entry point of the venv, as uid and gid
10001 with no capability and no new privileges, on a read-only root where only the manifests' emptyDirs are
writable (a tmpfs for /tmp, one for MILES_DATA_DIR, and a private /dev/shm as a container runtime gives).

A private mount namespace (`unshare -m`) does it without Docker: the mounts it changes are its own and
vanish with it; nothing on the machine is changed. Tests run as root here."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

UID = 10001
REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv"
DATA_DIR = "/var/lib/miles"  # the image's MILES_DATA_DIR and HOME; an emptyDir in the manifests

SETPRIV = [
    "setpriv",
    f"--reuid={UID}",
    f"--regid={UID}",
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
    "--no-new-privs",
]


def hidden_interpreter_dir() -> tuple[str, str] | None:
    """The venv's interpreter lives under a folder others may not enter (here /root, mode 700): that folder
    and its child on the way to the interpreter, so that the sandbox can show the child alone, read-only."""
    target = Path(os.path.realpath(VENV / "bin" / "python"))
    for folder in target.parents:
        if folder == Path("/"):
            continue
        if not folder.stat().st_mode & stat.S_IXOTH:
            child = target.relative_to(folder).parts[0]
            return str(folder), str(folder / child)
    return None


def _repo_under_a_tmpfs() -> bool:
    """Whether the checkout lies where the sandbox mounts a tmpfs (/tmp, /dev/shm)."""
    return any(REPO.is_relative_to(folder) for folder in ("/tmp", "/dev/shm"))


def _setup_script() -> str:
    """Shell run as root in the new mount namespace before it drops to uid 10001 and execs the command."""
    lines = [
        "set -eu",
        "mount --make-rprivate /",
    ]
    covered = _repo_under_a_tmpfs()
    repo = shlex.quote(str(REPO))
    if covered:  # a checkout under /tmp (CI's clone may be): kept aside, shown again read-only on the tmpfs
        lines += ["mount -t tmpfs -o size=1m tmpfs /mnt", "mkdir /mnt/repo", f"mount --bind {repo} /mnt/repo"]
    lines += [
        "mount -t tmpfs -o mode=1777,size=64m tmpfs /tmp",
        "mount -t tmpfs -o mode=1777,size=64m tmpfs /dev/shm",
    ]
    if covered:
        lines += [
            f"mkdir -p {repo}",
            f"mount --move /mnt/repo {repo}",
            f"mount -o remount,bind,ro {repo}",
            "umount /mnt",
        ]
    hidden = hidden_interpreter_dir()
    if hidden is not None:
        closed, shown = (shlex.quote(p) for p in hidden)
        lines += [  # show only the interpreter's folder of the closed one, read-only
            "mkdir /tmp/.interpreter",
            f"mount --bind {shown} /tmp/.interpreter",
            f"mount -t tmpfs -o mode=755,size=1m tmpfs {closed}",
            f"mkdir -p {shown}",
            f"mount --move /tmp/.interpreter {shown}",
            "rmdir /tmp/.interpreter",
            f"mount -o remount,bind,ro {shown}",
            f"mount -o remount,ro {closed}",
        ]
    if not os.path.isdir(DATA_DIR):  # its parent shown as an empty read-only folder holding the mount point
        parent = shlex.quote(os.path.dirname(DATA_DIR))
        lines += [
            f"mount -t tmpfs -o mode=755,size=1m tmpfs {parent}",
            f"mkdir {shlex.quote(DATA_DIR)}",
            f"mount -o remount,ro {parent}",
        ]
    lines += [
        f"mount -t tmpfs -o mode=700,uid={UID},gid={UID},size=64m tmpfs {DATA_DIR}",
        "mount -o remount,bind,ro /",
        "mount -o remount,bind,ro /dev",
        f'exec {shlex.join(SETPRIV)} "$@"',
    ]
    return "\n".join(lines)


def sandbox_command(argv: list[str]) -> list[str]:
    """`argv` run in the sandbox (its first word looked up on the image's PATH, the venv's bin first)."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _setup_script(), "sandbox", *argv]


def image_env(**settings: str) -> dict[str, str]:
    """The image's environment (deploy/Dockerfile) and the given MILES_* settings, nothing of the test's."""
    env = {
        "PATH": f"{VENV / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MILES_DATA_DIR": DATA_DIR,
        "HOME": DATA_DIR,
        "LANG": "C.UTF-8",
    }
    return env | {f"MILES_{name.upper()}": value for name, value in settings.items()}


def start_role(role: list[str], log: Path, **settings: str) -> subprocess.Popen[bytes]:
    """`miles <role>` in the sandbox, stdout and stderr to `log`. The process is `miles` itself (unshare,
    sh and setpriv exec into it), so a signal sent to it reaches the role as it would in a pod."""
    with log.open("wb") as out:
        return subprocess.Popen(
            sandbox_command(["miles", *role]),
            env=image_env(**settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def run_in_sandbox(
    argv: list[str], timeout: float = 120, **settings: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sandbox_command(argv),
        env=image_env(**settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def inside(process: subprocess.Popen[bytes], path: str) -> Path:
    """`path` as the sandboxed process sees it (its mount namespace, through /proc/PID/root)."""
    return Path(f"/proc/{process.pid}/root") / path.lstrip("/")
