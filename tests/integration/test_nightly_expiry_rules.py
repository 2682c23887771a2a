"""The set-based night's expiry and expiry warnings agree with the domain's rules member by member
(`miles.domain.expiry.miles_expiring` and `expiry_warnings`), on a few hundred generated members, under
both policies: the miles each member loses, the lots they are drawn from, the warnings each one gets.

The domain's inputs are read from the database before the night (and the tier after it: requalification
runs first in each chunk, and is held to its own domain rule by test_nightly_rules)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.domain.expiry import MemberMiles, expiry_warnings, miles_expiring
from miles.domain.lots import LotBalance
from miles.domain.programme.model import Programme
from miles.programme.reading import read_reference, read_text
from tests.integration.nightly_data import (
    MemberSpec,
    Seeded,
    inactivity_rules_text,
    load_inactivity_programme,
    night_runner,
    redemption,
    run_night,
    seed,
)

NIGHT = date(2028, 3, 1)
MEMBERS = 300


@pytest.fixture
def night(database_url: str) -> Iterator[Container]:
    with night_runner(database_url, chunk_size=64) as container:
        yield container


def _day(rng: random.Random, around: date, days: int) -> date:
    return around + timedelta(days=rng.randint(-days, days))


def generated(engine: Engine, rng: random.Random, lot_expiry: bool) -> list[tuple[Seeded, MemberSpec]]:
    """Members in every corner of the rules around NIGHT: lots expired, expiring in the warning window and
    later (or never), debts no lot carries, holds for redemptions, exempt tiers ending before or after,
    activity recorded, only enrolment, or a redemption newer than the recorded activity."""
    specs = []
    inactive_from = date(NIGHT.year - 2, NIGHT.month, NIGHT.day)
    for _ in range(MEMBERS):
        tier = rng.choice(["BLUE", "SILVER", "GOLD", "PLATINUM"])
        valid = None if tier == "BLUE" else rng.choice([_day(rng, NIGHT, 45), date(2030, 2, 28)])
        lots = []
        for _ in range(rng.randint(0, 4)):
            expires = rng.choice([None, _day(rng, NIGHT, 60), _day(rng, NIGHT, 60)]) if lot_expiry else None
            earned = date(2025, 1, 1) if expires is None else min(expires, date(2025, 1, 1))
            lots.append((earned, expires, rng.choice([100, 1_000, 2_500, 10_573])))
        activity = rng.choice([None, _day(rng, inactive_from, 45), _day(rng, inactive_from, 45)])
        created = datetime.combine(_day(rng, inactive_from, 60), datetime.min.time(), tzinfo=UTC)
        created += timedelta(hours=rng.choice([0, 23]))
        specs.append(
            MemberSpec(
                tier=tier, valid_until=valid, lots=lots, last_activity_date=activity, created_at=created
            )
        )
    members = seed(engine, specs)
    for member, spec in zip(members, specs, strict=True):
        total = sum(miles for _, _, miles in spec.lots)
        if total and rng.random() < 0.3:  # a debit that draws no lot: a debt no lot carries
            on = rng.choice([_day(rng, inactive_from, 40), date(2025, 6, 1)])
            redemption(engine, member.account_id, rng.randint(1, total), on)
        if rng.random() < 0.2:
            with engine.begin() as c:
                c.execute(
                    text("UPDATE accounts SET pending = greatest(0, balance) * :f / 4 WHERE id = :a"),
                    {"f": rng.randint(1, 4), "a": member.account_id},
                )
    return list(zip(members, specs, strict=True))


@dataclass
class Before:
    balance: int
    pending: int
    recorded_activity: date
    activity_transfers: list[date]
    lots: list[LotBalance]


def state_before(engine: Engine, programme: Programme) -> dict[int, Before]:
    with engine.connect() as c:
        c.execute(text("SET TIME ZONE 'UTC'"))
        rows = c.execute(
            text(
                "SELECT m.id, a.balance, a.pending, m.last_activity_date, "
                "CAST(m.created_at AT TIME ZONE :tz AS date) AS enrolled "
                "FROM members m JOIN accounts a ON a.member_id = m.id"
            ),
            {"tz": programme.timezone},
        ).all()
        state = {r.id: Before(r.balance, r.pending, r.last_activity_date or r.enrolled, [], []) for r in rows}
        for r in c.execute(text("SELECT id, member_id, expires_date, remaining FROM lots ORDER BY id")):
            state[r.member_id].lots.append(LotBalance(r.id, r.expires_date, r.remaining))
        for r in c.execute(
            text(
                "SELECT a.member_id, CAST(t.event_at AT TIME ZONE :tz AS date) AS day FROM transfers t "
                "JOIN entries e ON e.transfer_id = t.id JOIN accounts a ON a.id = e.account_id "
                "WHERE a.member_id IS NOT NULL AND t.code IN ('flight_accrual', 'redemption')"
            ),
            {"tz": programme.timezone},
        ):
            state[r.member_id].activity_transfers.append(r.day)
    return state


def tiers_after(engine: Engine) -> dict[int, tuple[str, date | None]]:
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, tier, tier_valid_until FROM members")).all()
    return {r.id: (r.tier, r.tier_valid_until) for r in rows}


def night_results(
    engine: Engine,
) -> tuple[dict[int, int], dict[int, list[tuple[int, int]]], dict[int, list[tuple[date, int]]]]:
    expired: dict[int, int] = {}
    draws: dict[int, list[tuple[int, int]]] = defaultdict(list)
    warnings: dict[int, list[tuple[date, int]]] = defaultdict(list)
    with engine.connect() as c:
        for r in c.execute(text("SELECT member_id, miles FROM nightly_expiries")):
            expired[r.member_id] = r.miles
        for r in c.execute(
            text(
                "SELECT x.member_id, d.lot_id, d.amount FROM nightly_expiries x "
                "JOIN lot_draws d ON d.transfer_id = x.transfer_id ORDER BY d.lot_id"
            )
        ):
            draws[r.member_id].append((r.lot_id, r.amount))
        for r in c.execute(text("SELECT member_id, expires_date, miles FROM expiry_warnings ORDER BY 1, 2")):
            warnings[r.member_id].append((r.expires_date, r.miles))
    return expired, draws, warnings


def compare(engine: Engine, night: Container, programme: Programme) -> None:
    before = state_before(engine, programme)
    run_night(night, NIGHT)
    tiers = tiers_after(engine)
    expired, draws, warnings = night_results(engine)
    policy = programme.expiry
    disagreements = []
    checked = {"expired": 0, "warned": 0}
    for member_id, b in sorted(before.items()):
        tier, valid_until = tiers[member_id]
        member = MemberMiles(
            tier=tier,
            tier_valid_until=valid_until,
            last_activity_date=max([b.recorded_activity, *b.activity_transfers]),
            balance=b.balance,
            pending=b.pending,
            lots=b.lots,
        )
        expiry = miles_expiring(policy, NIGHT, member)
        # the warnings go out after the expiry, from what it left
        taken = dict(expiry.draws)
        after = MemberMiles(
            tier=tier,
            tier_valid_until=valid_until,
            last_activity_date=member.last_activity_date,
            balance=b.balance - expiry.miles,
            pending=b.pending,
            lots=[
                LotBalance(lot.id, lot.expires_date, lot.remaining - taken.get(lot.id, 0)) for lot in b.lots
            ],
        )
        want = (expiry.miles, sorted(expiry.draws), expiry_warnings(policy, NIGHT, after))
        got = (expired.get(member_id, 0), draws.get(member_id, []), warnings.get(member_id, []))
        if got != want:
            disagreements.append((member_id, member, after, {"sql": got, "domain": want}))
        checked["expired"] += bool(want[0])
        checked["warned"] += bool(want[2])
    with engine.begin() as c:  # no redemption holds these miles: the ledger's checks after the test
        c.execute(text("UPDATE accounts SET pending = 0 WHERE member_id IS NOT NULL"))
    assert not disagreements, f"{len(disagreements)} members disagree, e.g. {disagreements[:3]}"
    # the generated members reach both rules often enough for the comparison to mean something
    assert checked["expired"] >= MEMBERS // 10, checked
    assert checked["warned"] >= MEMBERS // 20, checked


def test_lots_expiry_and_its_warnings_in_sql_agree_with_the_domain_member_by_member(
    engine: Engine, night: Container
) -> None:
    generated(engine, random.Random(20280301), lot_expiry=True)
    compare(engine, night, read_reference().in_force(NIGHT))


def test_inactivity_expiry_and_its_warnings_in_sql_agree_with_the_domain_member_by_member(
    engine: Engine, night: Container, tmp_path: Path
) -> None:
    load_inactivity_programme(night, tmp_path)
    generated(engine, random.Random(24), lot_expiry=False)
    compare(engine, night, read_text(inactivity_rules_text()).in_force(NIGHT))
