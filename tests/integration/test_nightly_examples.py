"""Every shipped example programme through the real night: loaded into the database, a few thousand
generated members around the run date (tiers, valid-untils, rolling period starts, metric totals either
side of every threshold, lifetime tiers held), and the set-based SQL agreeing with the domain's
`nightly_standing` member by member (tier, valid-until, lifetime tier, period start, tier history); then
expiry as the programme's policy says: `never` takes nothing, `inactivity` takes every mile of a member
inactive for its months and nothing from the others."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from miles.bootstrap import Container
from miles.domain.calendar import add_months
from miles.domain.expiry import exempt, inactivity_expires_date
from miles.domain.programme.model import ExpiryKind, Programme
from miles.domain.programme.requalification import NightlyStanding, Standing, nightly_standing
from miles.programme.reading import example_files, read_file
from miles.services.programmes import load_programme
from tests.integration.nightly_data import (
    READS,
    MemberSpec,
    Seeded,
    night_runner,
    run_night,
    seed,
    tiers_reached_for,
)

MEMBERS = 2_500
# each programme's night: the day after a validity boundary (fixed periods), any day (rolling)
NIGHTS = {
    "alaska-partners": date(2028, 1, 1),  # tiers earned in 2026 held to 31 December 2027
    "skymiles": date(2028, 2, 1),  # tiers earned in 2026 held to 31 January 2028
    "flying-blue": date(2028, 3, 1),
}
LOT_EARNED = date(2025, 6, 1)  # older than any activity drawn below: the lots' accruals are not the last


@pytest.fixture
def night(database_url: str) -> Iterator[Container]:
    with night_runner(database_url, chunk_size=500) as container:
        yield container


def _values(programme: Programme, code: str) -> list[Decimal]:
    """A metric's totals either side of each threshold that names it, 0 and well above them all."""
    cent = Decimal("0.01") if (metric := programme.metric(code)) is not None and metric.money else Decimal(1)
    thresholds = {
        value
        for tier in programme.ladder.tiers
        for requirement in tier.requirements
        for metric_code, value in requirement.minimums.items()
        if metric_code == code
    }
    out = {Decimal(0)}
    for t in thresholds:
        out |= {t - cent, t, t + cent}
    return sorted(out | {max(thresholds, default=Decimal(100)) * 2})


def _totals(rng: random.Random, programme: Programme) -> dict[str, Decimal]:
    return {code: rng.choice(_values(programme, code)) for code in programme.metric_codes}


def _day(rng: random.Random, around: date, days: int) -> date:
    return around + timedelta(days=rng.randint(-days, days))


def generated(rng: random.Random, programme: Programme, run_date: date) -> list[MemberSpec]:
    rules, ladder = programme.qualification, programme.ladder
    base = ladder.base.code
    inactive_from = add_months(run_date, -(programme.expiry.months or 24))
    specs = []
    for _ in range(MEMBERS):
        tier = rng.choice(ladder.codes)
        metrics: dict[date, dict[str, Decimal]] = {}
        if rules.rolling:
            # periods that ended weeks ago, end about now, end later, or ended long ago
            period_start = rng.choice(
                [
                    _day(rng, add_months(run_date, -12), 40),
                    _day(rng, add_months(run_date, -6), 150),
                    _day(rng, add_months(run_date, -30), 60),
                    add_months(run_date, -12),
                ]
            )
            valid = rules.rolling_period(period_start).end
            if rng.random() < 0.1:
                valid = _day(rng, run_date, 60)
            periods = [period_start, rules.rolling_period(period_start).end + timedelta(days=1)]
            periods.append(add_months(period_start, -12))  # the period before: never read
        else:
            period_start = date(2020, 1, 1)
            last = rules.last_complete(run_date)
            valid = rng.choice(
                [
                    run_date - timedelta(days=1),
                    run_date,
                    _day(rng, run_date, 40),
                    rules.valid_until(last),
                    *(rules.valid_until(p) for p in rules.upgrade_periods(run_date)),
                    rules.valid_until(rules.previous(rules.previous(last))),
                ]
            )
            periods = [last.start, *(p.start for p in rules.upgrade_periods(run_date))]
            periods.append(rules.previous(last).start)
        for start in periods:
            if rng.random() < 0.6:
                metrics[start] = _totals(rng, programme)
        activity = rng.choice([None, _day(rng, inactive_from, 45), _day(rng, inactive_from, 45)])
        created = datetime.combine(_day(rng, inactive_from, 60), time(12, 0), tzinfo=UTC)
        lots: list[tuple[date, date | None, int]] = [(LOT_EARNED, None, rng.choice([100, 1_000, 2_500]))]
        if rng.random() < 0.3:  # a lot with an expiry date from an earlier programme: past, or soon
            lots.append((LOT_EARNED, _day(rng, run_date, 40), 700))
        specs.append(
            MemberSpec(
                tier=tier,
                valid_until=None if tier == base else valid,
                lifetime_tier=base if rng.random() < 0.8 else rng.choice(ladder.codes),
                lifetime_miles=_lifetime(rng, programme, metrics),
                metrics=metrics,
                period_start=period_start,
                lots=lots,
                last_activity_date=activity,
                created_at=created,
            )
        )
    return specs


def _lifetime(
    rng: random.Random, programme: Programme, metrics: dict[date, dict[str, Decimal]]
) -> int | None:
    """A lifetime total either side of a lifetime tier's threshold, or just the credits' (None); None
    where the programme has no lifetime tiers."""
    code, rules = programme.qualification.lifetime_metric, programme.qualification.lifetime
    if code is None or not rules or rng.random() < 0.5:
        return None
    credited = sum((m.get(code, Decimal(0)) for m in metrics.values()), Decimal(0))
    at = rng.choice(rules).at
    return max(math.ceil(credited), int(at) + rng.choice([-1, 0, 1]))


def expected(programme: Programme, run_date: date, spec: MemberSpec) -> NightlyStanding:
    """The domain's answer for a generated member (its lifetime total: its credits', or the larger one it
    was given, as `seed` writes it)."""
    totals = spec.totals(programme.metric_codes)
    code = programme.qualification.lifetime_metric
    credited = sum((t.get(code, Decimal(0)) for t in totals.values()), Decimal(0)) if code else Decimal(0)
    lifetime = max(credited, Decimal(spec.lifetime_miles or 0)) if code else Decimal(0)
    standing = Standing(spec.tier, spec.valid_until, spec.lifetime_tier, lifetime, spec.member_period_start())
    return nightly_standing(programme, run_date, standing, totals)


def after_the_night(engine: Engine) -> dict[int, tuple[tuple[str, date | None, str, date], int, int]]:
    """Each member's (tier, valid-until, lifetime tier, period start), balance and tier changes."""
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT m.id, m.tier, m.tier_valid_until, m.lifetime_tier, m.period_start, a.balance, "
                "(SELECT count(*) FROM tier_changes t WHERE t.member_id = m.id) AS changes "
                "FROM members m JOIN accounts a ON a.member_id = m.id"
            )
        ).all()
    return {
        r.id: ((r.tier, r.tier_valid_until, r.lifetime_tier, r.period_start), r.balance, r.changes)
        for r in rows
    }


def last_activity(spec: MemberSpec) -> date:
    """What the inactivity policy reads: the recorded activity (else the enrolment), or a later accrual."""
    recorded = spec.last_activity_date or spec.created_at.date()
    return max(recorded, *(earned for earned, _, _ in spec.lots))


# FINDING (skymiles, alaska-partners fail until it is fixed): `nightly_runs.expiry_policy` still has the
# CHECK (expiry_policy IN ('lots', 'inactivity')) of migration 0003, which 0012 does not widen: the night
# of a programme whose policy is `never` cannot start (CheckViolation on INSERT INTO nightly_runs). With
# that CHECK dropped by hand, the SQL and the domain agree on every generated member of all three.
@pytest.mark.parametrize("reads", READS)
@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.stem)
def test_the_night_of_an_example_programme_agrees_with_the_domain_member_by_member(
    engine: Engine, night: Container, path: Path, reads: str
) -> None:
    run_date = NIGHTS[path.stem]
    programme = read_file(path).in_force(run_date)
    load_programme(night, path)
    night.catalog.forget()
    specs = generated(random.Random(path.stem), programme, run_date)
    members = seed(engine, specs, programme)
    tiers_reached_for(engine, programme, reads)

    report = run_night(night, run_date)

    assert report.programme == programme.name
    after = after_the_night(engine)
    disagreements: list[tuple[MemberSpec, Seeded, object, object]] = []
    counts = Counter[str]()
    rank = programme.ladder.rank
    for spec, member in zip(specs, members, strict=True):
        want = expected(programme, run_date, spec)
        got, _, changes = after[member.id]
        if got != (want.tier, want.valid_until, want.lifetime_tier, want.period_start):
            disagreements.append((spec, member, got, want))
        assert changes == (0 if want.reason is None else 1), (spec, want)
        counts["changed"] += want.reason is not None
        counts["requalified"] += want.requalified
        counts["kept"] += want.requalified and want.tier == spec.tier
        counts["up"] += rank(want.tier) > rank(spec.tier)
        counts["down"] += rank(want.tier) < rank(spec.tier)
        counts["lifetime_grants"] += rank(want.lifetime_tier) > rank(spec.lifetime_tier)
    assert not disagreements, f"{len(disagreements)} members disagree, e.g. {disagreements[:3]}"
    m = report.members
    assert (m.requalified, m.kept, m.up, m.down, m.lifetime_grants) == (
        counts["requalified"],
        counts["kept"],
        counts["up"],
        counts["down"],
        counts["lifetime_grants"],
    )
    assert counts["changed"] >= MEMBERS // 10  # the members move often enough for the check to mean something

    policy = programme.expiry
    balances = {member.id: after[member.id][1] for member in members}
    held = {
        member.id: sum(miles for _, _, miles in spec.lots)
        for spec, member in zip(specs, members, strict=True)
    }
    if policy.kind is ExpiryKind.NEVER:
        assert report.expiry.miles == 0
        assert balances == held
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM expiry_warnings")).scalar_one() == 0
        return
    assert policy.kind is ExpiryKind.INACTIVITY
    lost = 0
    for spec, member in zip(specs, members, strict=True):
        tier = after[member.id][0][0]
        inactive = inactivity_expires_date(last_activity(spec), policy.months) < run_date
        gone = inactive and not exempt(policy, tier)
        assert balances[member.id] == (0 if gone else held[member.id]), (spec, member)
        lost += held[member.id] if gone else 0
    assert report.expiry.miles == lost
    assert 0 < report.expiry.members < MEMBERS
