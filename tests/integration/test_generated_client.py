"""A booking system's team generates a client from our /openapi.json with openapi-python-client and uses
it: every answer of a whole flow (enrol, accrue, replay, conflict, 422, 401, 404, quote, redeem, poll)
parses into the typed model the document promises, successes and errors alike.

openapi-python-client pins typer<0.28, which the project's typer is past, so it cannot join the dev
extra: it runs from a venv of its own, built once from tests/tools/openapi-python-client.lock (pinned)
under MILES_TOOLS_DIR (default ~/.cache/miles-tools)."""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from miles.bootstrap import Container
from miles.domain.member_numbers import member_number_from_sequence
from tests.integration.conftest import make_key
from tests.integration.factories import next_ticket
from tests.integration.redemption_helpers import TRIP, grant_miles

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "tests" / "tools" / "openapi-python-client.lock"
TOOLS = Path(os.environ.get("MILES_TOOLS_DIR", Path.home() / ".cache" / "miles-tools"))


def _generator() -> Path:
    """The openapi-python-client command, installed once per version of the lock file."""
    venv = TOOLS / f"openapi-python-client-{hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]}"
    command = venv / "bin" / "openapi-python-client"
    TOOLS.mkdir(parents=True, exist_ok=True)
    with open(TOOLS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers build it once between them
        if not command.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "-r", str(LOCK)]
            subprocess.run(pip, check=True, timeout=900)
    return command


@pytest.fixture(scope="module")
def client_package(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client generated from the running server's document, imported under a fresh name."""
    out = tmp_path_factory.mktemp("client")
    name = f"miles_client_{uuid.uuid4().hex[:8]}"
    generated = subprocess.run(
        [
            str(_generator()),
            "generate",
            "--url",
            f"{live_server}/openapi.json",
            "--meta",
            "none",
            "--output-path",
            str(out / name),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=out,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(out))


def _module(package: ModuleType, dotted: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{dotted}")


def test_a_generated_client_runs_the_whole_flow_with_typed_answers(
    client_package: ModuleType, live_server: str, container: Container
) -> None:
    models = _module(client_package, "models")
    enrol = _module(client_package, "api.members.enrol_member")
    get_member = _module(client_package, "api.members.get_member")
    accrue = _module(client_package, "api.accruals.accrue_flight")
    quote_award = _module(client_package, "api.redemptions.quote_award")
    request_redemption = _module(client_package, "api.redemptions.request_redemption")
    get_redemption = _module(client_package, "api.redemptions.get_redemption")
    key = make_key(container, ["admin"])
    api = client_package.AuthenticatedClient(base_url=live_server, token=key, raise_on_unexpected_status=True)
    stranger = client_package.AuthenticatedClient(
        base_url=live_server, token="not-a-key", raise_on_unexpected_status=True
    )

    enrolled = enrol.sync_detailed(
        client=api,
        body=models.NewMemberRequest(given_name="Grace", family_name="Hopper", email="grace@example.org"),
    )
    assert enrolled.status_code == 201
    assert isinstance(enrolled.parsed, models.Member)
    number = enrolled.parsed.member_number

    coupon = models.FlightAccrualRequest(
        member_number=number,
        ticket_number=next_ticket(),
        coupon_number=1,
        marketing_carrier="YY",
        operating_carrier="YY",
        flight_number="123",
        origin="JFK",
        destination="LHR",
        departure_date=TRIP.replace(year=TRIP.year - 1, month=10, day=1),
        booking_class="Y",
    )
    first = accrue.sync_detailed(client=api, body=coupon)
    assert first.status_code == 201, first.content
    assert isinstance(first.parsed, models.Accrual)
    replay = accrue.sync_detailed(client=api, body=coupon)
    assert replay.status_code == 200
    assert isinstance(replay.parsed, models.Accrual)
    assert replay.parsed.accrual_id == first.parsed.accrual_id

    coupon.flight_number = "124"
    conflict = accrue.sync_detailed(client=api, body=coupon)
    assert conflict.status_code == 409
    assert isinstance(conflict.parsed, models.Error)
    assert conflict.parsed.error.code == "coupon_already_accrued"

    coupon.ticket_number, coupon.origin = next_ticket(), "J1"
    invalid = accrue.sync_detailed(client=api, body=coupon)
    assert invalid.status_code == 422
    assert isinstance(invalid.parsed, models.Error)
    assert invalid.parsed.error.field == "origin"

    unauthorized = get_member.sync_detailed(number, client=stranger)
    assert unauthorized.status_code == 401
    assert isinstance(unauthorized.parsed, models.Error)
    unknown = get_member.sync_detailed(member_number_from_sequence(987_654), client=api)
    assert unknown.status_code == 404
    assert isinstance(unknown.parsed, models.Error)
    assert unknown.parsed.error.code == "member_not_found"
    read = get_member.sync_detailed(number, client=api)
    assert isinstance(read.parsed, models.MemberRead)  # the summary, with the retention segment
    assert read.parsed.award_miles == first.parsed.balance_after
    assert read.parsed.segment is None  # no night has run yet
    assert read.parsed.flags == []

    grant_miles(container, number, 200_000)
    award = models.RedemptionRequest(
        member_number=number,
        items=[
            models.FlightItem(
                kind="flight",
                origin="JFK",
                destination="LHR",
                departure_date=TRIP,
                cabin=models.FlightItemCabin("economy"),
            )
        ],
    )
    quote = quote_award.sync_detailed(client=api, body=award)
    assert quote.status_code == 200, quote.content
    assert isinstance(quote.parsed, models.Quote)
    assert quote.parsed.miles > 0

    idempotency = str(uuid.uuid4())
    placed = request_redemption.sync_detailed(client=api, body=award, idempotency_key=idempotency)
    assert placed.status_code == 202, placed.content
    assert isinstance(placed.parsed, models.RedemptionAccepted)
    assert placed.parsed.miles == quote.parsed.miles
    again = request_redemption.sync_detailed(client=api, body=award, idempotency_key=idempotency)
    assert again.status_code == 202
    assert again.parsed.redemption_id == placed.parsed.redemption_id

    deadline = time.monotonic() + 20
    while True:
        polled = get_redemption.sync_detailed(placed.parsed.redemption_id, client=api)
        assert polled.status_code == 200
        assert isinstance(polled.parsed, models.Redemption)
        if polled.parsed.status != "PENDING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert polled.parsed.redemption_id == placed.parsed.redemption_id
    assert polled.parsed.history
