"""Members for nightly-run tests, written straight into the ledger (set-based, consistent with its
invariants): tier and valid-until, the rolling period's start, the lifetime total, qualifying totals with
their status credits (one value per metric, in the programme's order), earn lots with their transfers and
entries, and the resulting balances."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, text

from miles.adapters.db.standing import metric_values
from miles.adapters.db.tier_reached import TierReachedRepository, body
from miles.bootstrap import Container, build_container
from miles.domain.member_numbers import member_number_from_sequence
from miles.domain.programme.model import Programme
from miles.programme.reading import example_files, read_file, read_reference, reference_text
from miles.services.clock import FixedClock
from miles.services.nightly.config import NightlyConfig
from miles.services.nightly.report import RunReport, report_of_run, run_progress
from miles.services.nightly.runs import start_run
from miles.services.programmes import load_programme

LIFETIME_PERIOD = date(2000, 1, 1)  # status credits that only make up the lifetime total


@dataclass
class MemberSpec:
    tier: str = "BLUE"
    valid_until: date | None = None
    lifetime_tier: str = "BLUE"
    # the lifetime metric's total; default the sum of the credits; more is credited in LIFETIME_PERIOD
    lifetime_miles: int | None = None
    # the reference programme: year -> (status miles, segments), credited to the calendar year
    qualifying: dict[int, tuple[int, int]] = field(default_factory=dict)
    # any programme: a period's start -> {metric code: value}
    metrics: dict[date, dict[str, Decimal]] = field(default_factory=dict)
    period_start: date | None = None  # the member's rolling period; default the enrolment date
    lots: list[tuple[date, date | None, int]] = field(default_factory=list)  # (earned, expires, miles)
    last_activity_date: date | None = None
    created_at: datetime = datetime(2020, 1, 1, tzinfo=UTC)
    # hotel stays (partner HTL, 500 miles a night) still pending: (check-out date, nights); each posts 14 days on
    pending_stays: list[tuple[date, int]] = field(default_factory=list)

    def member_period_start(self) -> date:
        return self.period_start or self.created_at.astimezone(UTC).date()

    def totals(self, codes: tuple[str, ...]) -> dict[date, dict[str, Decimal]]:
        """Every period's totals by metric code (before the lifetime-only credits)."""
        out: dict[date, dict[str, Decimal]] = {}
        for year, (miles, segments) in self.qualifying.items():
            _add(out, date(year, 1, 1), {"status_miles": Decimal(miles), "segments": Decimal(segments)})
        for start, metrics in self.metrics.items():
            _add(out, start, {code: Decimal(value) for code, value in metrics.items()})
        for start, metrics in out.items():
            unknown = set(metrics) - set(codes)
            assert not unknown, f"metrics {unknown} of {start} are not the programme's"
        return out


def _add(totals: dict[date, dict[str, Decimal]], start: date, metrics: Mapping[str, Decimal]) -> None:
    period = totals.setdefault(start, {})
    for code, value in metrics.items():
        period[code] = period.get(code, Decimal(0)) + value


@dataclass(frozen=True)
class Seeded:
    id: int
    number: str
    account_id: int


def seed(engine: Engine, specs: list[MemberSpec], programme: Programme | None = None) -> list[Seeded]:
    """Write the members of `programme` (default the reference programme); their ids, numbers and award
    accounts in the order given."""
    programme = programme or read_reference().versions[-1]
    with engine.begin() as c:
        sequences = c.execute(
            text("SELECT nextval('member_number_seq') FROM generate_series(1, :n)"), {"n": len(specs)}
        ).scalars()
        numbers = [member_number_from_sequence(int(s)) for s in sequences]
        rows = c.execute(
            text(
                """
                WITH src AS (
                    SELECT * FROM unnest(CAST(:n AS text[]), CAST(:t AS text[]), CAST(:v AS date[]),
                                         CAST(:lt AS text[]), CAST(:la AS date[]), CAST(:c AS timestamptz[]),
                                         CAST(:p AS date[]))
                           WITH ORDINALITY AS s(number, tier, valid, lifetime_tier, activity, created, period, i)
                ), m AS (
                    INSERT INTO members (member_number, given_name, family_name, email, tier, tier_valid_until,
                                         lifetime_tier, last_activity_date, created_at, period_start)
                    SELECT number, 'Test', 'Member ' || i, 'm' || i || '@example.test', tier, valid, lifetime_tier,
                           activity, created, period
                    FROM src ORDER BY i
                    RETURNING id, member_number
                ), a AS (
                    INSERT INTO accounts (code, member_id, allow_negative)
                    SELECT 'member:' || member_number, id, true FROM m ORDER BY id
                    RETURNING id, member_id
                )
                SELECT m.id, m.member_number, a.id AS account_id FROM m JOIN a ON a.member_id = m.id
                """
            ),
            {
                "n": numbers,
                "t": [s.tier for s in specs],
                "v": [s.valid_until for s in specs],
                "lt": [s.lifetime_tier for s in specs],
                "la": [s.last_activity_date for s in specs],
                "c": [s.created_at for s in specs],
                "p": [s.member_period_start() for s in specs],
            },
        )
        by_number = {r.member_number: Seeded(r.id, r.member_number, r.account_id) for r in rows}
        seeded = [by_number[n] for n in numbers]
        _credits(c, specs, seeded, programme)
        _lots(c, specs, seeded)
        _pending_stays(c, specs, seeded)
    return seeded


def _pending_stays(c, specs: list[MemberSpec], seeded: list[Seeded]) -> None:  # type: ignore[no-untyped-def]
    rows = [
        (member.id, f"S-{member.id}-{i}", day, nights)
        for spec, member in zip(specs, seeded, strict=True)
        for i, (day, nights) in enumerate(spec.pending_stays)
    ]
    if not rows:
        return
    c.execute(
        text(
            """
            INSERT INTO partner_activities (partner, activity_id, member_id, request_digest, channel, activity_date,
                                            kind, nights, miles, status, posts_on, recorded_on)
            SELECT 'HTL', a, m, 'seeded', 'api', d, 'stay', n, n * 500, 'pending', d + 14, d
            FROM unnest(CAST(:m AS bigint[]), CAST(:a AS text[]), CAST(:d AS date[]), CAST(:n AS int[])) AS s(m, a, d, n)
            """
        ),
        {
            "m": [r[0] for r in rows],
            "a": [r[1] for r in rows],
            "d": [r[2] for r in rows],
            "n": [r[3] for r in rows],
        },
    )


def _credits(c, specs: list[MemberSpec], seeded: list[Seeded], programme: Programme) -> None:  # type: ignore[no-untyped-def]
    """Each period's totals as one status credit, and the lifetime total as the sum of the lifetime
    metric's credits (what `ledger_problems` checks)."""
    codes = programme.metric_codes
    lifetime = programme.qualification.lifetime_metric
    members, starts, values, lifetimes = [], [], [], []
    for spec, member in zip(specs, seeded, strict=True):
        totals = spec.totals(codes)
        if lifetime is None:
            assert spec.lifetime_miles is None, "the programme has no lifetime metric"
            total = Decimal(0)
        else:
            total = sum((t.get(lifetime, Decimal(0)) for t in totals.values()), Decimal(0))
            rest = Decimal(spec.lifetime_miles) - total if spec.lifetime_miles else Decimal(0)
            assert rest >= 0, "lifetime_miles is below the qualifying miles"
            if rest:
                _add(totals, LIFETIME_PERIOD, {lifetime: rest})
                total += rest
        for start, metrics in totals.items():
            members.append(member.id)
            starts.append(start)
            values.append("{" + ",".join(str(v) for v in metric_values(codes, metrics)) + "}")
        lifetimes.append(total)
    if not members:
        return
    c.execute(
        text(
            """
            WITH src AS (SELECT member_id, period_start, CAST(metrics AS numeric(16, 2)[]) AS metrics
                         FROM unnest(CAST(:m AS bigint[]), CAST(:p AS date[]), CAST(:v AS text[]))
                              AS s(member_id, period_start, metrics)),
            sc AS (
                INSERT INTO status_credits (member_id, period_start, metrics, code, event_at)
                SELECT member_id, period_start, metrics, 'test', period_start::timestamp AT TIME ZONE 'UTC'
                FROM src
            ), q AS (
                INSERT INTO qualifying_totals (member_id, period_start, metrics)
                SELECT member_id, period_start, metrics FROM src
            )
            UPDATE members m SET lifetime_total = t.total
            FROM unnest(CAST(:ids AS bigint[]), CAST(:totals AS numeric[])) AS t(member_id, total)
            WHERE m.id = t.member_id
            """
        ),
        {"m": members, "p": starts, "v": values, "ids": [s.id for s in seeded], "totals": lifetimes},
    )


def _lots(c, specs: list[MemberSpec], seeded: list[Seeded]) -> None:  # type: ignore[no-untyped-def]
    members, accounts, earned, expires, amounts = [], [], [], [], []
    for spec, member in zip(specs, seeded, strict=True):
        for earned_date, expires_date, amount in spec.lots:
            members.append(member.id)
            accounts.append(member.account_id)
            earned.append(earned_date)
            expires.append(expires_date)
            amounts.append(amount)
    if not members:
        return
    c.execute(
        text(
            """
            WITH src AS (
                SELECT * FROM unnest(CAST(:m AS bigint[]), CAST(:a AS bigint[]), CAST(:e AS date[]),
                                     CAST(:x AS date[]), CAST(:amount AS bigint[]))
                       WITH ORDINALITY AS s(member_id, account_id, earned, expires, amount, i)
            ), source AS (SELECT id FROM accounts WHERE code = 'accrual-flight' AND shard = 0
            ), t AS (
                INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at, memo)
                SELECT source.id, src.account_id, src.amount, 'flight_accrual',
                       src.earned::timestamp AT TIME ZONE 'UTC', 'lot ' || src.i
                FROM src, source ORDER BY src.i
                RETURNING id, from_account_id, to_account_id, amount, memo
            ), e AS (
                INSERT INTO entries (transfer_id, account_id, amount)
                SELECT id, from_account_id, -amount FROM t UNION ALL SELECT id, to_account_id, amount FROM t
            ), l AS (
                INSERT INTO lots (member_id, transfer_id, earned_date, expires_date, amount, remaining)
                SELECT src.member_id, t.id, src.earned, src.expires, src.amount, src.amount
                FROM t JOIN src ON t.memo = 'lot ' || src.i
            ), b AS (
                UPDATE accounts SET balance = accounts.balance + d.amount
                FROM (SELECT account_id, sum(amount) AS amount FROM src GROUP BY account_id) d
                WHERE accounts.id = d.account_id
            )
            UPDATE accounts SET balance = balance - (SELECT sum(amount) FROM src)
            WHERE code = 'accrual-flight' AND shard = 0
            """
        ),
        {"m": members, "a": accounts, "e": earned, "x": expires, "amount": amounts},
    )


def random_specs(count: int, seed_value: int) -> list[MemberSpec]:
    """Members in every corner of the rules around the night of 2028-03-01 (reference programme)."""
    rng = random.Random(seed_value)
    stays = random.Random(seed_value + 1)  # its own draws: the other fields stay what they were
    valid_choices = [None, date(2027, 2, 28), date(2028, 2, 29), date(2028, 3, 1), date(2029, 2, 28)]
    specs = []
    for _ in range(count):
        tier = rng.choice(["BLUE", "SILVER", "GOLD", "PLATINUM"])
        valid = None if tier == "BLUE" else rng.choice(valid_choices)
        qualifying = {}
        for year in (2026, 2027, 2028):
            if rng.random() < 0.6:
                qualifying[year] = (
                    rng.choice([0, 10_000, 25_000, 49_999, 50_000, 80_000]),
                    rng.randint(0, 110),
                )
        lifetime_extra = rng.choice([0, 0, 0, 500_000, 999_000, 1_000_000, 2_000_000])
        lifetime_tier = rng.choice(["BLUE", "BLUE", "BLUE", "GOLD"])
        lots = []
        for _ in range(rng.randint(0, 3)):
            earned = date(2025, 1, 1) + timedelta(days=rng.randint(0, 1000))
            lots.append((earned, _expires(earned), rng.choice([100, 1000, 5000])))
        specs.append(
            MemberSpec(
                tier=tier,
                valid_until=valid,
                lifetime_tier=lifetime_tier,
                lifetime_miles=sum(m for m, _ in qualifying.values()) + lifetime_extra,
                qualifying=qualifying,
                lots=lots,
                pending_stays=[
                    (date(2028, 2, 1) + timedelta(days=stays.randint(0, 40)), stays.randint(1, 5))
                    for _ in range(stays.choice([0, 0, 1, 2]))
                ],
            )
        )
    return specs


def _expires(earned: date) -> date:
    from miles.domain.expiry import lot_expires_date

    return lot_expires_date(earned, 36)


def inactivity_rules_text() -> str:
    """The reference programme with the inactivity policy: miles go 24 months after the last activity."""
    return (
        reference_text()
        .replace("policy: lots ", "policy: inactivity ")
        .replace("months: 36 ", "months: 24 ")
        .replace("programme: Aurora Miles", "programme: Aurora Miles (inactivity)")
    )


def load_inactivity_programme(night: Container, tmp_path: Path) -> None:
    variant = tmp_path / "inactivity.yaml"
    variant.write_text(inactivity_rules_text())
    load_programme(night, variant)
    night.catalog.forget()


def redemption(engine: Engine, account_id: int, miles: int, on: date) -> None:
    """A debit of the member's miles, dated `on`, that draws no lot (activity, and a debt no lot carries)."""
    with engine.begin() as c:
        c.execute(
            text(
                """
                WITH t AS (
                    INSERT INTO transfers (from_account_id, to_account_id, amount, code, event_at)
                    SELECT :a, id, :m, 'redemption', CAST(:on AS date)::timestamp AT TIME ZONE 'UTC'
                    FROM accounts WHERE code = 'redemption-clearing' AND shard = 0 RETURNING id, to_account_id
                ), e AS (
                    INSERT INTO entries (transfer_id, account_id, amount)
                    SELECT id, :a, -CAST(:m AS bigint) FROM t UNION ALL SELECT id, to_account_id, :m FROM t
                ), b AS (UPDATE accounts SET balance = balance - :m WHERE id = :a)
                UPDATE accounts SET balance = balance + :m WHERE code = 'redemption-clearing' AND shard = 0
                """
            ),
            {"a": account_id, "m": miles, "on": on},
        )


def nightly_container(database_url: str, chunk_size: int = 10_000, at: date = date(2035, 1, 1)) -> Container:
    """An in-process container whose clock is late enough for any test night."""
    clock = FixedClock(datetime.combine(at, time(3, 0), tzinfo=UTC))
    container = build_container(database_url, clock=clock, pool_size=5)
    container.nightly = NightlyConfig(chunk_size=chunk_size)
    return container


@contextmanager
def night_runner(database_url: str, chunk_size: int = 10_000) -> Iterator[Container]:
    container = nightly_container(database_url, chunk_size)
    try:
        yield container
    finally:
        container.engine.dispose()


def run_night(container: Container, run_date: date, timeout: float = 60.0) -> RunReport:
    """Start the night in-process and wait for its last chunk; its report."""

    start = start_run(container, run_date)
    return wait_for_night(container, start.run_id, run_date, timeout)


def wait_for_night(container: Container, run_id: int, run_date: date, timeout: float = 60.0) -> RunReport:
    """Wait for the in-process night's last chunk, and for its queued jobs; its report."""
    import time as clock

    deadline = clock.monotonic() + timeout
    while True:
        run = run_progress(container, run_id)
        if run.status == "done":
            report = report_of_run(container, run_id)
            break
        assert clock.monotonic() < deadline, f"the night of {run_date} did not finish: {run}"
        clock.sleep(0.02)
    container.dispatcher.drain()  # type: ignore[attr-defined]
    return report


def snapshot(engine: Engine) -> dict[str, object]:
    """Everything a night may change, summed up."""
    queries = {
        "members": "SELECT md5(string_agg(id || tier || coalesce(tier_valid_until::text, '-') || lifetime_tier"
        " || period_start, ',' ORDER BY id)) FROM members",
        "balances": "SELECT md5(string_agg(id || ':' || balance, ',' ORDER BY id)) FROM accounts",
        # lots by what they are (the night opens lots for partner miles, in whatever order its chunks run)
        "lots": "SELECT md5(string_agg(concat_ws(':', member_id, earned_date, expires_date, amount, remaining), ','"
        " ORDER BY member_id, earned_date, expires_date, amount, remaining)) FROM lots",
        "transfers": "SELECT count(*) FROM transfers",
        "entries": "SELECT count(*) FROM entries",
        "lot_draws": "SELECT count(*) FROM lot_draws",
        "tier_changes": "SELECT md5(string_agg(member_id || from_tier || to_tier || coalesce(valid_until::text, '-')"
        " || reason, ',' ORDER BY member_id, id)) FROM tier_changes",
        "expiries": "SELECT md5(string_agg(member_id || ':' || miles, ',' ORDER BY member_id)) FROM nightly_expiries",
        "warnings": "SELECT md5(string_agg(member_id || ':' || expires_date || ':' || miles, ',' ORDER BY 1))"
        " FROM expiry_warnings",
        "chunks": "SELECT string_agg(chunk_no || state, ',' ORDER BY chunk_no) FROM nightly_chunks",
        "partner_activities": "SELECT md5(string_agg(id || status || coalesce(posted_on::text, '-'), ',' ORDER BY id))"
        " FROM partner_activities",
        "runs": "SELECT string_agg(id || status || chunks_done, ',') FROM nightly_runs",
        "member_segments": "SELECT md5(string_agg(concat_ws(':', member_id, segment, repeat, vip, since_date,"
        " run_date), ',' ORDER BY member_id)) FROM member_segments",
        "segment_transitions": "SELECT md5(string_agg(concat_ws(':', member_id, from_segment, to_segment, run_date),"
        " ',' ORDER BY member_id, run_date)) FROM segment_transitions",
        "segment_counts": "SELECT string_agg(run_date || name || members, ',' ORDER BY run_date, name)"
        " FROM segment_counts",
    }
    with engine.connect() as c:
        return {name: c.execute(text(sql)).scalar() for name, sql in queries.items()}


READS = ["tier_reached", "metrics"]


def tiers_reached_for(engine: Engine, programme: Programme, reads: str) -> None:
    """Make the night read the periods' stored tier reached (`tier_reached`: the function is the
    programme's) or their metrics (`metrics`: the function, and so every stored value, is another
    programme's, which the night must not believe)."""
    other = read_reference().versions[-1]
    if other.name == programme.name:
        other = read_file(example_files()[0]).versions[-1]
    with engine.begin() as c:
        repository = TierReachedRepository(c)
        repository.install(programme if reads == "tier_reached" else other)
        assert (repository.installed() == body(programme)) == (reads == "tier_reached")
