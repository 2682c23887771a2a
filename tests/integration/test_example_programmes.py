"""Each shipped example programme, as an airline would run it: `miles programme load FILE` into a
freshly migrated database, a key from `miles apikey create`, then coupons posted to `miles serve` over
HTTP, earning and qualifying exactly as the programme's rules say (worked out by hand beside each)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from miles.programme.reading import example_files
from tests.conftest import migrated_database
from tests.integration.served import served

CLOCK_AT = "2026-11-23T12:00:00+00:00"
EXAMPLES = {path.stem: path for path in example_files()}


def cli(url: str, *args: str) -> str:
    env = {**os.environ, "MILES_DATABASE_URL": url, "MILES_CLOCK_AT": CLOCK_AT}
    done = subprocess.run(
        [sys.executable, "-m", "miles.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        self.tickets = 0

    def enrol(self) -> str:
        response = self.http.post(
            "/v1/members", json={"given_name": "Ann", "family_name": "Lee", "email": "a@x.io"}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["member_number"])

    def fly(
        self,
        member: str,
        carrier: str,
        route: str,
        booking_class: str,
        departure: str = "2026-11-01",
        fare: tuple[str, str] | None = None,
        ticket: int | None = None,
        coupon: int = 1,
    ) -> dict[str, Any]:
        if ticket is None:
            self.tickets += 1
            ticket = self.tickets
        origin, destination = route.split("-")
        body: dict[str, Any] = {
            "member_number": member,
            "ticket_number": f"{ticket:013d}",
            "coupon_number": coupon,
            "marketing_carrier": carrier,
            "operating_carrier": carrier,
            "flight_number": "100",
            "origin": origin,
            "destination": destination,
            "departure_date": departure,
            "booking_class": booking_class,
        }
        if fare:
            body["fare"] = {"amount": fare[0], "currency": fare[1]}
        response = self.http.post("/v1/accruals/flights", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def member(self, number: str) -> dict[str, Any]:
        return dict(self.http.get(f"/v1/members/{number}").json())


@pytest.fixture
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The example named by the test's parameter, loaded into a new database, served."""
    server = os.environ["MILES_TEST_DATABASE_URL"]
    with migrated_database(server) as url:
        loaded = cli(url, "programme", "load", str(EXAMPLES[request.param]))
        assert "loaded" in loaded
        key = (
            cli(
                url,
                "apikey",
                "create",
                "airline",
                "--scope",
                "accrual:write",
                "--scope",
                "member:write",
                "--scope",
                "member:read",
                "--scope",
                "admin",
            )
            .strip()
            .splitlines()[-1]
        )
        with served(url, tmp_path, CLOCK_AT=CLOCK_AT) as s:
            api = Api(s.base, key)
            yield api
            api.http.close()


@pytest.mark.parametrize("running", ["flying-blue"], indirect=True)
def test_flying_blue_earns_by_revenue_and_xp_and_restarts_the_period_at_a_new_tier(running: Api) -> None:
    api = running
    member = api.enrol()
    first = api.fly(member, "AF", "CDG-JFK", "Y", fare=("500.00", "EUR"))
    assert 3500 <= first["distance_miles"] < 5000  # the 3,500 to 5,000 miles band
    # revenue: floor(500.00 EUR x 4 per EUR at EXPLORER); XP economy 10 in that band, UXP the same on AF
    assert (first["base_miles"], first["tier_bonus_miles"], first["award_miles"]) == (2000, 0, 2000)
    assert first["qualifying"] == {"xp": 10, "uxp": 10}
    assert (first["status_miles"], first["segments"]) == (0, 0)  # no metric of those codes
    usd = api.fly(member, "KL", "AMS-JFK", "J", fare=("1000.00", "USD"))
    # 1,000 USD x 0.93 = 930.00 EUR, x 4 = 3,720; business XP 30 (AMS-JFK is in the same band)
    assert (usd["base_miles"], usd["qualifying"]) == (3720, {"xp": 30, "uxp": 30})
    assert api.fly(member, "AF", "CDG-JFK", "J", fare=("1000.00", "EUR"))["tier_after"] == "EXPLORER"  # 70 XP
    silver = api.fly(member, "AF", "CDG-JFK", "J", fare=("1000.00", "EUR"))
    # 70 + 30 = 100 XP: SILVER at once; the coupon earned at the old tier (4 per EUR)
    assert (silver["tier_after"], silver["base_miles"]) == ("SILVER", 4000)
    standing = api.member(member)
    # a new 12-month period started today (2026-11-23 in Paris) with every counter at 0
    assert (standing["tier"], standing["tier_valid_until"]) == ("SILVER", "2027-11-22")
    assert standing["qualifying"]["period_start"] == "2026-11-23"
    assert standing["qualifying"]["period_end"] == "2027-11-22"
    assert standing["qualifying"]["metrics"] == {"xp": 0, "uxp": 0}
    delta = api.fly(member, "DL", "JFK-ATL", "Y")
    # DL: distance x 100 % for Y, no tier bonus; JFK-ATL is domestic (US-US): 2 XP, no UXP on DL
    assert delta["base_miles"] == delta["distance_miles"]
    assert delta["tier_bonus_miles"] == 0
    assert delta["qualifying"] == {"xp": 2, "uxp": 0}
    assert api.fly(member, "AF", "CDG-JFK", "J", fare=("1000.00", "EUR"))["base_miles"] == 6000  # SILVER: 6
    assert api.member(member)["qualifying"]["metrics"] == {"xp": 32, "uxp": 30}


@pytest.mark.parametrize("running", ["skymiles"], indirect=True)
def test_skymiles_caps_a_ticket_and_qualifies_on_dollars(running: Api) -> None:
    api = running
    member = api.enrol()
    small = api.fly(member, "DL", "JFK-LAX", "Y", fare=("400.00", "USD"))
    assert (small["award_miles"], small["qualifying"], small["tier_after"]) == (
        2000,
        {"mqd": "400.00"},
        "MEMBER",
    )
    one = api.fly(member, "DL", "JFK-LHR", "J", fare=("10000.00", "USD"), ticket=77, coupon=1)
    # 5 per USD at MEMBER: 50,000; MQD 10,400 reach GOLD (10,000) at once
    assert (one["award_miles"], one["tier_after"]) == (50000, "GOLD")
    two = api.fly(member, "DL", "LHR-JFK", "J", fare=("10000.00", "USD"), ticket=77, coupon=2)
    # 8 per USD at GOLD would be 80,000: the ticket's cap of 75,000 leaves 25,000; MQD 20,400: PLATINUM
    assert (two["award_miles"], two["tier_after"]) == (25000, "PLATINUM")
    partner = api.fly(member, "AF", "CDG-JFK", "Y")
    assert partner["award_miles"] == partner["distance_miles"]
    assert partner["qualifying"] == {"mqd": "0.00"}
    standing = api.member(member)
    # a tier reached in 2026 holds to 31 January 2028
    assert (standing["tier"], standing["tier_valid_until"]) == ("PLATINUM", "2028-01-31")
    assert standing["qualifying"]["metrics"] == {"mqd": "20400.00"}
    assert standing["qualifying"]["period_start"] == "2026-01-01"


@pytest.mark.parametrize("running", ["alaska-partners"], indirect=True)
def test_alaska_credits_500_miles_at_least_and_the_elite_bonus_on_distance(running: Api) -> None:
    api = running
    member = api.enrol()
    short = api.fly(member, "AA", "LHR-MAN", "Y")
    assert short["distance_miles"] < 500
    # credited distance max(d, 500) for every member, MEMBER included: 500 x 100 % + 0 % class bonus
    assert (short["award_miles"], short["qualifying"]) == (500, {"eqm": 500, "segments": 1})
    business = api.fly(member, "BA", "JFK-LHR", "J")
    d = business["distance_miles"]
    assert business["award_miles"] == d + d  # BA J: 100 % base + 100 % class bonus, no elite bonus at MEMBER
    grant = api.http.post(f"/v1/members/{member}/tier", json={"tier": "MVP_GOLD", "reason": "status_match"})
    assert grant.status_code == 200, grant.text
    assert (grant.json()["tier"], grant.json()["tier_valid_until"]) == ("MVP_GOLD", "2027-12-31")
    first = api.fly(member, "AA", "JFK-LAX", "F")
    d = first["distance_miles"]
    # AA F: 100 % + 50 % class bonus = base; MVP_GOLD's elite bonus 100 % of the distance, not of the base
    assert (first["base_miles"], first["tier_bonus_miles"]) == (d + d * 50 // 100, d)
    assert first["qualifying"] == {"eqm": d + d * 50 // 100, "segments": 1}
    assert api.member(member)["qualifying"]["metrics"] == {
        "eqm": 500 + 2 * business["distance_miles"] + d + d * 50 // 100,
        "segments": 3,
    }
