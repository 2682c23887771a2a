"""`miles demo`: the embedded database, the reference programme and sample members, served with a key.

The port is checked before anything starts; the banner (where to go, the key, the console's users) is
printed only once the server answers, so a demo that cannot serve prints no key."""

from __future__ import annotations

import errno
import secrets
import socket
import threading
import time
import urllib.request
from typing import TYPE_CHECKING

import typer

from miles.cli.consoles import err, out
from miles.cli.database import database_url
from miles.cli.serve import Host, Port, run_server

if TYPE_CHECKING:
    from miles.bootstrap import Container

ANSWER_TIMEOUT_SECONDS = 120.0


def demo(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Embedded database, reference programme, sample members; serves the API and prints a key."""
    _check_port(host, port)
    url = database_url()
    numbers = _seed(url)
    banner = threading.Thread(target=_banner_once_answering, args=(url, host, port, numbers), daemon=True)
    banner.start()
    run_server(host, port, workers=1)


def _check_port(host: str, port: int) -> None:
    problem = _bind_problem(host, port)
    if problem is None:
        return
    spare = next((p for p in range(port + 1, min(port + 50, 65536)) if _bind_problem(host, p) is None), None)
    suggestion = f"miles demo --port {spare}" if spare is not None else "miles demo --port PORT"
    err.print(
        f"[red]cannot serve on {host}:{port}: {problem}.[/red]\n"
        f"Choose another port with [bold]--port[/bold], e.g. [bold]{suggestion}[/bold]"
    )
    raise typer.Exit(2)


def _bind_problem(host: str, port: int) -> str | None:
    """Why uvicorn could not listen on host:port now (None: it could)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"{host!r} is not an address of this machine ({exc.strerror})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "the port is in use by another program"
            return exc.strerror or str(exc)
    return None


def _seed(url: str) -> list[str]:
    from miles.cli.database import command_runtime
    from miles.services.demo import seed_if_empty

    with command_runtime(url) as runtime:
        return seed_if_empty(runtime)


def _banner_once_answering(url: str, host: str, port: int, numbers: list[str]) -> None:
    """Wait until the server answers /healthz, then make the demo's key and users and print them."""
    probe_host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    probe = f"http://{f'[{probe_host}]' if ':' in probe_host else probe_host}:{port}/healthz"
    deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
    while True:
        try:  # the standard library's client: the runtime installs no HTTP client (httpx is a dev tool)
            with urllib.request.urlopen(probe, timeout=1) as answer:
                if answer.status == 200:
                    break
        except OSError:  # refused, reset, timed out, or an HTTP error status
            pass
        if time.monotonic() > deadline:
            err.print(f"[red]the server did not answer {probe} within {ANSWER_TIMEOUT_SECONDS:g} s[/red]")
            return
        time.sleep(0.2)
    from miles.cli.database import command_runtime
    from miles.services.apikeys import SCOPES, create_key

    with command_runtime(url) as runtime:
        token = create_key(runtime, "demo", list(SCOPES))
        agent, supervisor, password = console_users(runtime)
    base = f"http://{host}:{port}"
    if numbers:
        out.print(f"sample members: {', '.join(numbers)}")
    member = numbers[0] if numbers else "1000000016"
    out.print(f"miles is at [bold]{base}[/bold]  (API docs: {base}/docs)")
    out.print(f"API key: [bold]{token}[/bold]")
    out.print(
        f"console: [bold]{base}/console[/bold]  users {agent}, {supervisor}; password [bold]{password}[/bold]"
    )
    print(f"try:  curl -H 'Authorization: Bearer {token}' {base}/v1/members/{member}", flush=True)


def console_users(runtime: Container) -> tuple[str, str, str]:
    """A new agent and a new supervisor sharing a fresh password (printed once)."""
    from miles.services.agents import create_agents

    suffix, password = secrets.token_hex(2), secrets.token_urlsafe(12)
    names = (f"demo-agent-{suffix}", f"demo-supervisor-{suffix}")
    create_agents(runtime, [(names[0], "agent"), (names[1], "supervisor")], password)
    return names[0], names[1], password
