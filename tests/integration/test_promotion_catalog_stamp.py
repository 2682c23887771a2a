"""The campaigns' stamp (`promotion_catalog`): an accrual reads it to know whether the campaigns it holds
decoded are still the live ones, so it must move with every campaign created, changed or ended, and only
then (a bonus spending a budget changes nothing an accrual decodes)."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.integration.factories import coupon, enrol
from tests.integration.test_promotions_api import campaign


def stamp(engine: Engine) -> tuple[int, datetime] | None:
    with engine.connect() as c:
        row = c.execute(text("SELECT version, changed_at FROM promotion_catalog")).first()
    return None if row is None else (int(row.version), row.changed_at)


def test_the_stamp_moves_with_the_campaigns_and_not_with_their_budgets(
    client: TestClient, engine: Engine
) -> None:
    before = stamp(engine)
    assert client.post("/v1/promotions", json=campaign()).status_code == 201
    created = stamp(engine)
    assert created is not None
    assert created != before

    member = enrol(client)
    earned = client.post("/v1/accruals/flights", json=coupon(member)).json()
    assert earned["promotion_miles"] > 0  # the budget was spent
    assert stamp(engine) == created

    assert client.post("/v1/promotions/DBL-LHR/end").status_code == 200
    ended = stamp(engine)
    assert ended is not None
    assert ended[0] > created[0]
    after_end = client.post("/v1/accruals/flights", json=coupon(member)).json()
    assert after_end["promotion_miles"] == 0
    assert after_end["promotions"] == []


def test_emptied_with_every_table_the_stamp_comes_back_newer(client: TestClient, engine: Engine) -> None:
    assert client.post("/v1/promotions", json=campaign()).status_code == 201
    held = stamp(engine)
    assert held is not None
    with engine.begin() as c:
        c.execute(text("TRUNCATE promotion_catalog, promotions CASCADE"))
    again = stamp(engine)
    assert again is not None
    assert again[1] > held[1]


def test_a_restore_that_keeps_the_stamps_values_still_sends_accruals_to_the_restored_campaigns(
    client: TestClient, engine: Engine
) -> None:
    assert client.post("/v1/promotions", json=campaign()).status_code == 201
    member = enrol(client)
    assert client.post("/v1/accruals/flights", json=coupon(member)).json()["promotion_miles"] > 0
    held = stamp(engine)
    # as pg_restore --disable-triggers writes them: the campaign as it was before its window moved, the stamp's
    # row written again with the values it had, no trigger run
    with engine.begin() as c:
        c.execute(text("SET LOCAL session_replication_role = replica"))
        c.execute(text("UPDATE promotions SET starts_on = DATE '2026-11-01' WHERE code = 'DBL-LHR'"))
        c.execute(text("DELETE FROM promotion_catalog"))
        c.execute(
            text("INSERT INTO promotion_catalog (one, version, changed_at) VALUES (true, :v, :at)"),
            {"v": held[0] if held else 1, "at": held[1] if held else datetime.now()},
        )
    assert stamp(engine) == held
    after = client.post("/v1/accruals/flights", json=coupon(member)).json()  # departs 2026-10-01
    assert after["promotion_miles"] == 0
    assert after["promotions"] == []
