"""`miles demo`: the embedded database, the reference programme and sample members, served with a key."""

from __future__ import annotations

import secrets
import sys

from miles.cli.consoles import out
from miles.cli.database import database_url, unit_of_work
from miles.cli.serve import Host, Port, run_server


def demo(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Embedded database, reference programme, sample members; serves the API and prints a key."""
    from miles.services.apikeys import SCOPES, create_key
    from miles.services.clock import SystemClock
    from miles.services.demo import has_members, seed
    from miles.services.programmes import ProgrammeCatalog

    url = database_url()
    with unit_of_work(url) as uow:
        numbers = [] if has_members(uow) else seed(uow, ProgrammeCatalog(), SystemClock())
    with unit_of_work(url) as uow:
        token = create_key(uow, "demo", list(SCOPES))
    base = f"http://{host}:{port}"
    if numbers:
        out.print(f"sample members: {', '.join(numbers)}")
    member = numbers[0] if numbers else "1000000016"
    out.print(f"miles is at [bold]{base}[/bold]  (API docs: {base}/docs)")
    out.print(f"API key: [bold]{token}[/bold]")
    agent, supervisor, password = console_users(url)
    out.print(
        f"console: [bold]{base}/console[/bold]  users {agent}, {supervisor}; password [bold]{password}[/bold]"
    )
    print(f"try:  curl -H 'Authorization: Bearer {token}' {base}/v1/members/{member}", flush=True)
    sys.stdout.flush()
    run_server(host, port, workers=1)


def console_users(url: str) -> tuple[str, str, str]:
    """A new agent and a new supervisor sharing a fresh password (printed once)."""
    from miles.services.agents import create_agent
    from miles.services.clock import SystemClock

    suffix, password = secrets.token_hex(2), secrets.token_urlsafe(12)
    names = (f"demo-agent-{suffix}", f"demo-supervisor-{suffix}")
    with unit_of_work(url) as uow:
        create_agent(uow, SystemClock(), names[0], "agent", password)
        create_agent(uow, SystemClock(), names[1], "supervisor", password)
    return names[0], names[1], password
