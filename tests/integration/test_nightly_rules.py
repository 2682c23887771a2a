"""The nightly run's rules, through its real SQL: requalification, lifetime, the February boundary, lot
expiry at the end of the 36th month, exempt tiers, and the SQL agreeing with the domain rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.domain.programme.requalification import Standing, nightly_standing
from miles.programme.reading import read_reference
from tests.integration.nightly_data import (
    READS,
    MemberSpec,
    night_runner,
    random_specs,
    run_night,
    seed,
    tiers_reached_for,
)

NIGHT = date(2028, 3, 1)


@pytest.fixture
def night(database_url: str) -> Iterator[Container]:
    with night_runner(database_url, chunk_size=3) as container:
        yield container


def standing_of(engine: Engine, member_id: int) -> tuple[str, date | None, str]:
    with engine.connect() as c:
        row = c.execute(
            text("SELECT tier, tier_valid_until, lifetime_tier FROM members WHERE id = :id"),
            {"id": member_id},
        ).one()
    return row.tier, row.tier_valid_until, row.lifetime_tier


def tier_changes(engine: Engine, member_id: int) -> list[tuple[str, str, str]]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT from_tier, to_tier, reason FROM tier_changes WHERE member_id = :id ORDER BY id"),
            {"id": member_id},
        )
        return [(r.from_tier, r.to_tier, r.reason) for r in rows]


def balance(engine: Engine, account_id: int) -> int:
    with engine.connect() as c:
        return int(
            c.execute(text("SELECT balance FROM accounts WHERE id = :id"), {"id": account_id}).scalar_one()
        )


def test_soft_landing_platinum_with_nothing_earned_becomes_gold(engine: Engine, night: Container) -> None:
    [member] = seed(engine, [MemberSpec(tier="PLATINUM", valid_until=date(2028, 2, 29))])
    report = run_night(night, NIGHT)
    assert standing_of(engine, member.id) == ("GOLD", date(2029, 2, 28), "BLUE")
    [(from_tier, to_tier, reason)] = tier_changes(engine, member.id)
    assert (from_tier, to_tier) == ("PLATINUM", "GOLD")
    assert reason.startswith("soft landing")
    assert (report.members.requalified, report.members.down, report.members.kept) == (1, 1, 0)


def test_requalifying_into_a_higher_tier(engine: Engine, night: Container) -> None:
    silver, gold = seed(
        engine,
        [
            MemberSpec(tier="SILVER", valid_until=date(2028, 2, 29), qualifying={2027: (80_000, 40)}),
            MemberSpec(tier="GOLD", valid_until=date(2028, 2, 29), qualifying={2027: (50_000, 10)}),
        ],
    )
    report = run_night(night, NIGHT)
    assert standing_of(engine, silver.id) == ("PLATINUM", date(2029, 2, 28), "BLUE")
    assert standing_of(engine, gold.id) == ("GOLD", date(2029, 2, 28), "BLUE")  # kept, for another year
    assert tier_changes(engine, silver.id)[0][2].startswith(
        "requalified: tier expired, earned PLATINUM in 2027"
    )
    m = report.members
    assert (m.requalified, m.up, m.kept, m.down) == (2, 1, 1, 0)


def test_lifetime_tier_is_a_floor_and_is_held_for_life(engine: Engine, night: Container) -> None:
    crossed, held = seed(
        engine,
        [
            # crossed 1,000,000 lifetime status miles in a feed that did not apply it
            MemberSpec(tier="GOLD", valid_until=date(2028, 2, 29), lifetime_miles=1_000_000),
            MemberSpec(
                tier="GOLD", valid_until=date(2028, 2, 29), lifetime_tier="GOLD", lifetime_miles=1_200_000
            ),
        ],
    )
    report = run_night(night, NIGHT)
    assert standing_of(engine, crossed.id) == ("GOLD", None, "GOLD")  # not SILVER (soft landing)
    assert standing_of(engine, held.id) == ("GOLD", None, "GOLD")
    assert tier_changes(engine, crossed.id)[0][2].startswith("lifetime: GOLD for life")
    assert report.members.lifetime_grants == 1


def test_lifetime_milestone_is_granted_without_an_expired_tier(engine: Engine, night: Container) -> None:
    [member] = seed(
        engine, [MemberSpec(tier="SILVER", valid_until=date(2029, 2, 28), lifetime_miles=2_000_000)]
    )
    report = run_night(night, NIGHT)
    assert standing_of(engine, member.id) == ("PLATINUM", None, "PLATINUM")
    assert (report.members.lifetime_grants, report.members.up, report.members.requalified) == (1, 1, 0)


def test_an_upgrade_the_feed_left_unapplied_is_applied(engine: Engine, night: Container) -> None:
    [member] = seed(engine, [MemberSpec(tier="BLUE", qualifying={2028: (0, 60)})])
    run_night(night, NIGHT)
    assert standing_of(engine, member.id) == ("GOLD", date(2030, 2, 28), "BLUE")
    # the reason no longer names the year (rules format 2 writes "earned, not applied at accrual")
    assert tier_changes(engine, member.id)[0][2].startswith("upgrade: GOLD earned")


def test_february_boundary_requalifies_on_march_first_not_before(engine: Engine, night: Container) -> None:
    [member] = seed(engine, [MemberSpec(tier="GOLD", valid_until=date(2028, 2, 29))])
    before = run_night(night, date(2028, 2, 29))
    assert standing_of(engine, member.id) == ("GOLD", date(2028, 2, 29), "BLUE")
    assert before.members.requalified == 0
    after = run_night(night, date(2028, 3, 1))
    assert standing_of(engine, member.id) == ("SILVER", date(2029, 2, 28), "BLUE")
    assert after.members.requalified == 1


def test_blue_has_no_valid_until_after_requalification(engine: Engine, night: Container) -> None:
    [member] = seed(engine, [MemberSpec(tier="SILVER", valid_until=date(2028, 2, 29))])
    run_night(night, NIGHT)
    assert standing_of(engine, member.id) == ("BLUE", None, "BLUE")


def test_lots_expire_at_the_end_of_the_36th_month_and_not_a_day_early(
    engine: Engine, night: Container
) -> None:
    # earned 2025-03-15: good until the end of 2028-03-31, expired by the run of 2028-04-01
    [member] = seed(
        engine,
        [
            MemberSpec(
                lots=[
                    (date(2025, 3, 15), date(2028, 3, 31), 4_000),
                    (date(2025, 4, 2), date(2028, 4, 30), 700),
                ]
            )
        ],
    )
    on_the_day = run_night(night, date(2028, 3, 31))
    assert on_the_day.expiry.miles == 0
    assert balance(engine, member.account_id) == 4_700
    day_after = run_night(night, date(2028, 4, 1))
    assert (day_after.expiry.miles, day_after.expiry.members, day_after.expiry.lots) == (4_000, 1, 1)
    assert balance(engine, member.account_id) == 700
    with engine.connect() as c:
        transfer = c.execute(
            text(
                "SELECT t.amount, t.code, a.code AS to_account FROM transfers t JOIN accounts a "
                "ON a.id = t.to_account_id WHERE t.from_account_id = :a"
            ),
            {"a": member.account_id},
        ).one()
        remaining = c.execute(
            text("SELECT expires_date, remaining FROM lots WHERE member_id = :m ORDER BY id"),
            {"m": member.id},
        ).all()
    assert tuple(transfer) == (4_000, "expiry", "expired")
    assert [tuple(r) for r in remaining] == [(date(2028, 3, 31), 0), (date(2028, 4, 30), 700)]


def test_gold_lots_do_not_expire_while_the_status_holds(engine: Engine, night: Container) -> None:
    gold, silver = seed(
        engine,
        [
            MemberSpec(
                tier="GOLD", valid_until=date(2029, 2, 28), lots=[(date(2024, 1, 10), date(2027, 1, 31), 900)]
            ),
            MemberSpec(
                tier="SILVER",
                valid_until=date(2029, 2, 28),
                lots=[(date(2024, 1, 10), date(2027, 1, 31), 900)],
            ),
        ],
    )
    report = run_night(night, NIGHT)
    assert balance(engine, gold.account_id) == 900
    assert balance(engine, silver.account_id) == 0
    assert report.expiry.miles == 900


def test_lots_expire_the_night_the_exempt_status_ends(engine: Engine, night: Container) -> None:
    [member] = seed(
        engine,
        [
            MemberSpec(
                tier="GOLD", valid_until=date(2028, 2, 29), lots=[(date(2024, 1, 10), date(2027, 1, 31), 900)]
            )
        ],
    )
    report = run_night(night, NIGHT)  # requalified down to SILVER, which is not exempt
    assert standing_of(engine, member.id)[0] == "SILVER"
    assert balance(engine, member.account_id) == 0
    assert report.expiry.miles == 900


def test_expiry_never_takes_miles_held_for_a_pending_redemption(engine: Engine, night: Container) -> None:
    [member] = seed(engine, [MemberSpec(lots=[(date(2024, 1, 10), date(2027, 1, 31), 1_000)])])
    with engine.begin() as c:
        c.execute(text("UPDATE accounts SET pending = 600 WHERE id = :a"), {"a": member.account_id})
    report = run_night(night, NIGHT)
    assert report.expiry.miles == 400
    assert balance(engine, member.account_id) == 600
    with engine.begin() as c:
        c.execute(text("UPDATE accounts SET pending = 0 WHERE id = :a"), {"a": member.account_id})


@pytest.mark.parametrize("reads", READS)
def test_the_set_based_night_agrees_with_the_domain_rule_member_by_member(
    engine: Engine, night: Container, reads: str
) -> None:
    specs = random_specs(240, seed_value=20280301)
    members = seed(engine, specs)
    programme = read_reference().in_force(NIGHT)
    tiers_reached_for(engine, programme, reads)
    run_night(night, NIGHT)
    disagreements = []
    for spec, member in zip(specs, members, strict=True):
        expected = nightly_standing(
            programme,
            NIGHT,
            Standing(
                spec.tier,
                spec.valid_until,
                spec.lifetime_tier,
                Decimal(spec.lifetime_miles or 0),
                spec.member_period_start(),
            ),
            spec.totals(programme.metric_codes),
        )
        got = standing_of(engine, member.id)
        want = (expected.tier, expected.valid_until, expected.lifetime_tier)
        if got != want:
            disagreements.append((spec, got, want))
        changes = tier_changes(engine, member.id)
        assert len(changes) == (0 if expected.reason is None else 1)
        if expected.reason is not None:
            assert changes[0][2].split(":")[0].replace(" ", "_") == expected.reason.value
    assert not disagreements, disagreements[:5]
