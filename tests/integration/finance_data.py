"""Months of miles for finance's tests: flights, a reversal, goodwill and an award, on a moved clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.adapters.db.ledger import Posting
from miles.bootstrap import Container
from miles.domain.ledger import GOODWILL
from miles.services.clock import FixedClock
from tests.integration.factories import coupon, enrol
from tests.integration.redemption_helpers import flight, grant_miles, redeem, wait_for

OCTOBER, NOVEMBER, DECEMBER = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)


def at(clock: FixedClock, day: date, hour: int = 12) -> None:
    clock.at = datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def accrue(client: TestClient, member: str, departure: date) -> dict[str, int]:
    answer = client.post("/v1/accruals/flights", json=coupon(member, departure_date=departure.isoformat()))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def member_balances(engine: Engine) -> int:
    with engine.connect() as c:
        return int(
            c.execute(text("SELECT sum(balance) FROM accounts WHERE member_id IS NOT NULL")).scalar_one()
        )


def two_months(client: TestClient, container: Container, clock: FixedClock) -> dict[str, int]:
    """October: two flights. November: a flight, October's second flight reversed, 30,000 miles of goodwill
    and a 25,000-mile award (drawing the October lot first, the soonest to expire)."""
    at(clock, date(2026, 10, 5))
    ada, bob = enrol(client), enrol(client, "Bob", "Byte")
    ada_october = accrue(client, ada, date(2026, 10, 1))["award_miles"]
    bob_october = accrue(client, bob, date(2026, 10, 2))
    at(clock, date(2026, 11, 10))
    ada_november = accrue(client, ada, date(2026, 11, 8))["award_miles"]
    reversal = client.post(f"/v1/accruals/{bob_october['accrual_id']}/reversal", json={"reason": "refund"})
    assert reversal.status_code == 201, reversal.text
    at(clock, date(2026, 11, 23))
    grant_miles(container, ada, 30_000)  # goodwill, earned and posted on the 23rd
    award = redeem(client, ada, flight())
    assert award.status_code == 202, award.text
    container.dispatcher.drain()  # type: ignore[attr-defined]
    wait_for(client, award.json()["redemption_id"], "CONFIRMED")
    return {
        "ada_october": ada_october,
        "bob_october": bob_october["award_miles"],
        "ada_november": ada_november,
        "award": award.json()["miles"],
    }


def goodwill(container: Container, member_number: str, miles: int, on: datetime) -> None:
    """Goodwill miles in one lot, earned and posted at `on` (the clock must be there too)."""
    with container.uow() as uow:
        member = uow.members.lock(member_number)
        assert member is not None
        uow.ledger.post(
            Posting(uow.ledger.programme_account(GOODWILL), member.account_id, miles, "goodwill", on),
            lot_member_id=member.id,
            earned_date=on.date(),
            expires_date=date(2029, 12, 31),
        )
