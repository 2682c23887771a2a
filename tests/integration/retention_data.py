"""Members whose segments, complaints, downgrades, expiries and return flights make the retention reports'
answers known: five lost in October and November (a complaint, a downgrade, an expiry, nothing, a complaint
too old to count), two won back in October (one by the WELCOME-BACK promotion), segment counts of three
nights."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from tests.integration.factories import coupon, enrol


def member_id(c: Connection, number: str) -> int:
    return int(c.execute(text("SELECT id FROM members WHERE member_number = :n"), {"n": number}).scalar_one())


def transition(c: Connection, member: int, before: str | None, after: str, night: date) -> None:
    c.execute(
        text(
            "INSERT INTO segment_transitions (member_id, from_segment, to_segment, run_date) VALUES (:m, :f, :t, :d)"
        ),
        {"m": member, "f": before, "t": after, "d": night},
    )


def complaint(c: Connection, member: int, on: date) -> None:
    c.execute(
        text(
            "INSERT INTO complaints (member_id, category, description, recorded_by, recorded_at) "
            "VALUES (:m, 'delay', 'late', 'test', :at)"
        ),
        {"m": member, "at": datetime(on.year, on.month, on.day, 12, tzinfo=UTC)},
    )


def downgrade(c: Connection, member: int, on: date) -> None:
    c.execute(
        text(
            "INSERT INTO tier_changes (member_id, from_tier, to_tier, reason, created_at) "
            "VALUES (:m, 'GOLD', 'SILVER', 'requalified', :at)"
        ),
        {"m": member, "at": datetime(on.year, on.month, on.day, 3, tzinfo=UTC)},
    )


def expiry(c: Connection, member: int, on: date) -> None:
    """100 goodwill miles, then their expiry, on `on`: two balanced transfers that leave the member's balance
    as it was (the report reads the expiry transfer)."""
    for code, source, target in (("goodwill", "goodwill", None), ("expiry", None, "expired")):
        c.execute(
            text(
                """
                WITH p AS (SELECT id FROM accounts WHERE code = :programme AND shard = 0),
                m AS (SELECT id FROM accounts WHERE member_id = :m),
                t AS (
                    INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, posted_at)
                    SELECT CASE WHEN :outgoing THEN m.id ELSE p.id END, CASE WHEN :outgoing THEN p.id ELSE m.id END,
                           100, :code, :at, :at FROM p, m RETURNING id, from_account_id, to_account_id
                ), e AS (
                    INSERT INTO entries (transfer_id, account_id, amount)
                    SELECT id, from_account_id, -100 FROM t UNION ALL SELECT id, to_account_id, 100 FROM t
                )
                UPDATE accounts SET balance = balance + CASE WHEN id = (SELECT to_account_id FROM t) THEN 100 ELSE -100 END
                WHERE id IN ((SELECT from_account_id FROM t), (SELECT to_account_id FROM t))
                """
            ),
            {
                "m": member,
                "programme": source or target,
                "outgoing": target is not None,
                "code": code,
                "at": datetime(on.year, on.month, on.day, 3, tzinfo=UTC),
            },
        )


def build(client: TestClient, engine: Engine) -> dict[str, Any]:
    created = client.post(
        "/v1/promotions",
        json={
            "code": "WELCOME-BACK",
            "name": "Welcome back",
            "trigger": "flight",
            "starts_on": "2026-09-01",
            "ends_on": "2026-12-31",
            # one route no other test flies: the browser tests share one database, and a bonus on every
            # flight would change what the others earn
            "conditions": {"carriers": ["YY"], "routes": ["ORD-NRT"]},
            "effect": {"kind": "fixed", "miles": 2000},
        },
    )
    assert created.status_code == 201, created.text
    names = ["complained", "downgraded", "expired", "quiet", "old_complaint", "returned", "returned_plain"]
    numbers = {name: enrol(client, name.title(), "Member") for name in names}
    returned = client.post(
        "/v1/accruals/flights",
        json=coupon(numbers["returned"], departure_date="2026-10-10", origin="ORD", destination="NRT"),
    )
    assert returned.json()["promotions"] == [{"code": "WELCOME-BACK", "miles": 2000}], returned.text
    with engine.begin() as c:
        ids = {name: member_id(c, n) for name, n in numbers.items()}
        complaint(c, ids["complained"], date(2026, 9, 1))
        downgrade(
            c, ids["complained"], date(2026, 8, 1)
        )  # earlier than the complaint: the complaint is latest
        downgrade(c, ids["downgraded"], date(2026, 9, 30))
        expiry(c, ids["downgraded"], date(2026, 9, 30))  # same day: the downgrade outranks the expiry
        expiry(c, ids["expired"], date(2026, 10, 1))
        complaint(c, ids["old_complaint"], date(2025, 9, 1))  # more than 12 months before: none
        for name in ("complained", "downgraded", "expired", "quiet", "old_complaint"):
            transition(c, ids[name], None, "active", date(2026, 9, 1))
        for name, night in (
            ("complained", date(2026, 10, 5)),
            ("downgraded", date(2026, 10, 6)),
            ("expired", date(2026, 11, 2)),
            ("quiet", date(2026, 11, 3)),
            ("old_complaint", date(2026, 11, 4)),
        ):
            transition(c, ids[name], "active", "lost", night)
        for name in ("returned", "returned_plain"):
            transition(c, ids[name], None, "lapsed", date(2026, 9, 1))
            transition(c, ids[name], "lapsed", "active", date(2026, 10, 12))
        for night, counts in (
            (date(2026, 10, 30), (2, 5)),
            (date(2026, 10, 31), (3, 4)),
            (date(2026, 11, 30), (1, 6)),
        ):
            for name, members in zip(("active", "lost"), counts, strict=True):
                c.execute(
                    text("INSERT INTO segment_counts (run_date, name, members) VALUES (:d, :n, :m)"),
                    {"d": night, "n": name, "m": members},
                )
    return {"ids": ids, "numbers": numbers}
