"""`miles demo`: a taken port is a clear error before anything is printed or started; the banner and its
key appear only once the server answers."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import httpx
from sqlalchemy import Engine, text

from tests.integration.conftest import free_port


def demo_command(database_url: str, port: int) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "MILES_DATABASE_URL": database_url, "MILES_LOG_LEVEL": "warning", "COLUMNS": "250"}
    return [sys.executable, "-m", "miles.cli", "demo", "--port", str(port)], env


def test_a_demo_on_a_taken_port_says_how_to_choose_another_and_prints_no_key(
    database_url: str, engine: Engine
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command, env = demo_command(database_url, port)
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr
    assert re.search(r"miles demo --port \d+", result.stderr), result.stderr
    assert "mk_" not in result.stdout + result.stderr
    assert "API key" not in result.stdout
    with engine.connect() as c:  # nothing was made: no members, no key
        assert c.execute(text("SELECT count(*) FROM members")).scalar_one() == 0
        assert c.execute(text("SELECT count(*) FROM api_keys")).scalar_one() == 0


def test_the_demo_prints_its_key_once_the_server_answers(database_url: str) -> None:
    port = free_port()
    command, env = demo_command(database_url, port)
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        key = None
        for line in process.stdout:
            found = re.search(r"API key: (mk_\S+)", line)
            if found:
                key = found.group(1)
                break
            assert time.monotonic() < deadline
        assert key is not None, "no key printed"
        # the moment the key is printed the server answers it (no wait, no retry)
        base = f"http://127.0.0.1:{port}"
        members = httpx.get(f"{base}/v1/members/1000000016", headers={"Authorization": f"Bearer {key}"})
        assert members.status_code in (200, 404)
        assert httpx.get(f"{base}/healthz").status_code == 200
    finally:
        process.terminate()
        process.wait(20)
