"""Retention segments in the nightly run: a member built for each segment and flag lands in it, transitions
are recorded once, the counts of a night, the API's reads, and the SQL held against miles.domain.segments
member by member on random members over several nights."""

from __future__ import annotations

import random
import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from miles.adapters.db import segments as segments_sql
from miles.adapters.db.nightly_runs import LAST_MEMBER_ID
from miles.adapters.db.segments import SegmentRepository
from miles.bootstrap import Container
from miles.domain.segments import flags_of, segment_of, top_percent_threshold
from miles.programme.reading import read_reference
from miles.services.nightly.chunks import ChunkOutcome, work_chunk
from miles.services.nightly.runs import start_run
from miles.services.segments import segment_members
from tests.integration.console_helpers import console_client, make_agent, signed_in
from tests.integration.nightly_data import MemberSpec, night_runner, random_specs, run_night, seed
from tests.integration.segment_data import add_flights, python_facts, stored_segments, transitions

NIGHT = date(2028, 3, 1)
PROGRAMME = read_reference().versions[-1]
TOP = PROGRAMME.ladder.tiers[-1].code


def days_before(days: int) -> date:
    return NIGHT - timedelta(days=days)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


# one member built for each segment and flag on NIGHT: (name, spec, flights (days before, miles))
CAST: list[tuple[str, MemberSpec, list[tuple[int, int]]]] = [
    ("new", MemberSpec(created_at=at(days_before(10))), []),
    ("active", MemberSpec(last_activity_date=days_before(30)), []),
    ("at_risk_6_months", MemberSpec(last_activity_date=days_before(200)), []),
    # flies every 7 days, quiet for 20: longer than 1.5 x 7
    ("at_risk_rhythm", MemberSpec(last_activity_date=days_before(20)), [(20, 1000), (27, 1000), (34, 1000)]),
    ("lapsed", MemberSpec(last_activity_date=days_before(400)), []),
    ("lost_24_months", MemberSpec(last_activity_date=date(2025, 6, 1)), []),
    # active, but the night expires the only lot it had
    (
        "lost_expired",
        MemberSpec(last_activity_date=days_before(30), lots=[(date(2024, 12, 1), date(2028, 1, 1), 1000)]),
        [],
    ),
    ("repeat", MemberSpec(last_activity_date=days_before(10)), [(10, 1000), (100, 1000)]),
    ("vip_tier", MemberSpec(tier=TOP, valid_until=date(2029, 2, 28), last_activity_date=days_before(5)), []),
    ("vip_value", MemberSpec(last_activity_date=days_before(5)), [(5, 90_000)]),
]
EXPECTED = {
    "new": ("new", set()),
    "active": ("active", set()),
    "at_risk_6_months": ("at_risk", set()),
    "at_risk_rhythm": ("at_risk", {"repeat"}),
    "lapsed": ("lapsed", set()),
    "lost_24_months": ("lost", set()),
    "lost_expired": ("lost", set()),
    "repeat": ("active", {"repeat"}),
    "vip_tier": ("active", {"vip"}),
    "vip_value": ("active", {"vip"}),
}


def seed_cast(engine: Engine) -> dict[str, int]:
    members = seed(engine, [spec for _, spec, _ in CAST])
    add_flights(
        engine,
        [
            (m.id, days_before(days), miles, False)
            for m, (_, _, flights) in zip(members, CAST, strict=True)
            for days, miles in flights
        ],
    )
    return {name: m.id for m, (name, _, _) in zip(members, CAST, strict=True)}


def test_a_member_built_for_each_segment_and_flag_lands_in_it(database_url: str, engine: Engine) -> None:
    ids = seed_cast(engine)
    with night_runner(database_url, chunk_size=3) as night:
        run_night(night, NIGHT)
    stored = stored_segments(engine)
    got = {name: (stored[i][0], set(stored[i][1])) for name, i in ids.items()}
    assert got == EXPECTED
    assert {s[2] for s in stored.values()} == {NIGHT}
    assert {s[3] for s in stored.values()} == {NIGHT}
    with engine.connect() as c:
        counts = dict(
            c.execute(
                text("SELECT name, members FROM segment_counts WHERE run_date = :d"), {"d": NIGHT}
            ).all()
        )
        threshold = c.execute(text("SELECT vip_threshold FROM nightly_runs")).scalar()
    assert counts == {"new": 1, "active": 4, "at_risk": 2, "lapsed": 1, "lost": 2, "repeat": 2, "vip": 1 + 1}
    assert threshold == 90_000  # fewer than 100 members: the top value


def test_transitions_are_recorded_once_and_only_on_a_change(database_url: str, engine: Engine) -> None:
    ids = seed_cast(engine)
    with night_runner(database_url, chunk_size=4) as night:
        run_night(night, NIGHT)
        first = transitions(engine)
        assert sorted(first) == sorted((i, None, EXPECTED[n][0], NIGHT) for n, i in ids.items())
        with engine.connect() as c:
            recorded = c.execute(text("SELECT sum(segment_transitions) FROM nightly_chunks")).scalar()
        assert recorded == len(ids)

        # the same members and date segmented again (a chunk done twice): nothing changes
        with night.uow() as uow:
            assert segment_members(uow, PROGRAMME, NIGHT, 1, LAST_MEMBER_ID, 90_000) == 0
        assert transitions(engine) == first

        # the next night, nobody near a boundary: nothing recorded, the since dates stay
        run_night(night, NIGHT + timedelta(days=1))
        assert transitions(engine) == first
        assert {s[2] for s in stored_segments(engine).values()} == {NIGHT}

        # 100 days on, the new member is not new any more
        later = NIGHT + timedelta(days=100)
        run_night(night, later)
    moved = [t for t in transitions(engine) if t[3] == later]
    assert (ids["new"], "new", "active", later) in moved
    assert stored_segments(engine)[ids["new"]][:3] == ("active", frozenset(), later)


def test_a_late_chunk_of_an_earlier_night_writes_nothing_once_a_later_night_started(
    database_url: str, engine: Engine
) -> None:
    ids = seed_cast(engine)
    later = NIGHT + timedelta(days=2)
    with night_runner(database_url, chunk_size=4) as night:
        run_night(night, NIGHT)
        run_night(night, later)
        # then the lapsed member flies: the night between would find them active
        with engine.begin() as c:
            c.execute(
                text("UPDATE members SET last_activity_date = :d WHERE id = :m"),
                {"d": NIGHT, "m": ids["lapsed"]},
            )
        stored, moved = stored_segments(engine), transitions(engine)
        with night.uow() as uow:  # a chunk of NIGHT + 1 done late, after the later night
            assert segment_members(uow, PROGRAMME, NIGHT + timedelta(days=1), 1, LAST_MEMBER_ID, 90_000) == 0
        assert stored_segments(engine) == stored
        assert transitions(engine) == moved
        with night.uow() as uow:  # the later night's own chunk done again does write the change
            assert segment_members(uow, PROGRAMME, later, 1, LAST_MEMBER_ID, 90_000) == 1
    assert stored_segments(engine)[ids["lapsed"]] == ("active", frozenset(), later, later)


class _Parked:
    """A dispatcher that keeps what it is sent: the test runs the chunks itself."""

    def send(self, task: str, payload: dict[str, object], request_id: str | None = None) -> None:
        pass


def test_a_night_starts_only_once_an_earlier_nights_chunk_writing_segments_has_committed(
    database_url: str, engine: Engine
) -> None:
    ids = seed_cast(engine)
    night_of, next_night = NIGHT + timedelta(days=1), NIGHT + timedelta(days=2)
    with night_runner(database_url, chunk_size=1000) as night:
        run_night(night, NIGHT)
        night.dispatcher = _Parked()
        with engine.begin() as c:  # the lapsed member flew: the next night finds them active
            c.execute(
                text("UPDATE members SET last_activity_date = :d WHERE id = :m"),
                {"d": NIGHT, "m": ids["lapsed"]},
            )
        late = start_run(night, night_of)

        def chunk_of_the_night() -> None:  # stalls after its segments, before its commit
            with night.uow() as uow:
                work_chunk(uow, late.run_id, 0, pause_seconds=1.5)

        worker = threading.Thread(target=chunk_of_the_night)
        worker.start()
        deadline = time.monotonic() + 10
        with (
            engine.connect() as c
        ):  # its segments are written (not committed) once it holds the writers' lock
            while not c.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock' AND granted"
                )
            ).scalar():
                assert time.monotonic() < deadline
                time.sleep(0.01)
        time.sleep(0.3)
        with engine.begin() as c:  # that flight is reversed: the night after finds the member lapsed again
            c.execute(
                text("UPDATE members SET last_activity_date = :d WHERE id = :m"),
                {"d": days_before(400), "m": ids["lapsed"]},
            )
        following = start_run(night, next_night)  # waits for the stalled chunk's commit
        with night.uow() as uow:
            assert work_chunk(uow, following.run_id, 0) is ChunkOutcome.DONE
        worker.join()
    segment, flags, since, changed = stored_segments(engine)[ids["lapsed"]]
    assert (segment, changed) == ("lapsed", next_night)
    assert (ids["lapsed"], "active", "lapsed", next_night) in transitions(engine)


def test_the_analytics_and_the_member_read(database_url: str, engine: Engine, client: TestClient) -> None:
    ids = seed_cast(engine)
    with engine.connect() as c:
        number = c.execute(
            text("SELECT member_number FROM members WHERE id = :id"), {"id": ids["repeat"]}
        ).scalar()
    before = client.get(f"/v1/members/{number}")
    assert before.status_code == 200, before.text
    assert (before.json()["segment"], before.json()["flags"]) == (None, [])
    missing = client.get("/v1/analytics/segments", params={"date": NIGHT.isoformat()})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "no_segments"

    with night_runner(database_url) as night:
        run_night(night, NIGHT)
    answer = client.get("/v1/analytics/segments", params={"date": (NIGHT + timedelta(days=3)).isoformat()})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "date": NIGHT.isoformat(),
        "counts": {"new": 1, "active": 4, "at_risk": 2, "lapsed": 1, "lost": 2},
        "flags": {"repeat": 2, "vip": 2},
    }
    earlier = client.get("/v1/analytics/segments", params={"date": (NIGHT - timedelta(days=1)).isoformat()})
    assert earlier.status_code == 404
    for bad in ("2028-02-30", "yesterday", ""):
        refused = client.get("/v1/analytics/segments", params={"date": bad})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["field"] == "date"
    member = client.get(f"/v1/members/{number}").json()
    assert (member["segment"], member["flags"]) == ("active", ["repeat"])
    other = client.get(f"/v1/members/{_number(engine, ids['vip_tier'])}").json()
    assert (other["segment"], other["flags"]) == ("active", ["vip"])


def _number(engine: Engine, member_id: int) -> str:
    with engine.connect() as c:
        return str(
            c.execute(text("SELECT member_number FROM members WHERE id = :id"), {"id": member_id}).scalar()
        )


def test_the_console_member_page_shows_the_segment_and_flags(
    database_url: str, engine: Engine, container: Container
) -> None:
    ids = seed_cast(engine)
    number = _number(engine, ids["at_risk_rhythm"])
    make_agent(container, "mia")
    with console_client(container) as console:
        signed_in(console, "mia")
        before = console.get(f"/console/members/{number}")
        assert before.status_code == 200
        assert "none yet" in _segment_line(before.text)
        with night_runner(database_url) as night:
            run_night(night, NIGHT)
        line = _segment_line(console.get(f"/console/members/{number}").text)
    assert "<strong>at risk</strong> · repeat" in line


def _segment_line(html: str) -> str:
    found = re.search(r'data-testid="segment">(.*?)</p>', html, re.S)
    assert found, html
    return " ".join(found.group(1).split())


# --- the SQL against the domain, member by member -------------------------------------------------------

NIGHTS = [date(2028, 3, 1), date(2028, 5, 31), date(2029, 2, 28)]


def random_members(
    count: int, seed_value: int
) -> tuple[list[MemberSpec], list[list[tuple[date, int, bool]]]]:
    """random_specs' tiers, lots and stays, with enrolments, last activities and flights around NIGHTS."""
    rng = random.Random(seed_value)
    specs = random_specs(count, seed_value)
    flights = []
    for spec in specs:
        near = rng.choice(NIGHTS)
        spec.created_at = rng.choice(
            [
                datetime(2020, 1, 1, tzinfo=UTC),
                at(near - timedelta(days=rng.choice([0, 1, 45, 89, 90, 91, 120]))),
                at(date(2026, 1, 1) + timedelta(days=rng.randint(0, 1100))),
            ]
        )
        spec.last_activity_date = rng.choice(
            [None, near - timedelta(days=rng.choice([1, 10, 30, 100, 182, 183, 184, 366, 400, 731, 800]))]
        )
        if rng.random() < 0.25:  # lots the nights expire, nothing else: all miles expired
            spec.tier, spec.valid_until, spec.pending_stays = "BLUE", None, []
            spec.lots = [
                (
                    date(2025, 1, 1),
                    date(2027, 12, 1) + timedelta(days=rng.randint(0, 240)),
                    rng.choice([100, 1000]),
                )
                for _ in range(rng.randint(1, 2))
            ]
        flown = [
            (
                near - timedelta(days=rng.randint(-60, 900)),
                rng.choice([0, 500, 1000, 5000, 20_000]),
                rng.random() < 0.15,
            )
            for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 8]))
        ]
        if flown and rng.random() < 0.5:  # a steady rhythm: every `step` days up to a date before the night
            step, last = rng.choice([7, 14, 30]), near - timedelta(days=rng.randint(1, 60))
            flown += [(last - timedelta(days=step * k), 1000, False) for k in range(rng.randint(2, 6))]
        flights.append(flown)
    return specs, flights


def test_the_sql_agrees_with_the_domain_member_by_member(database_url: str, engine: Engine) -> None:
    specs, flights = random_members(200, 20281)
    members = seed(engine, specs)
    add_flights(
        engine,
        [(m.id, d, miles, rev) for m, fl in zip(members, flights, strict=True) for d, miles, rev in fl],
    )
    changed_on: dict[int, date] = {}  # the night each member's segment or flags last changed
    with night_runner(database_url, chunk_size=50) as night:
        for run_date in NIGHTS:
            before = stored_segments(engine)
            planned = python_facts(engine, run_date, PROGRAMME.timezone, TOP)
            run_night(night, run_date)
            with engine.connect() as c:
                threshold = c.execute(
                    text("SELECT vip_threshold FROM nightly_runs WHERE run_date = :d"), {"d": run_date}
                ).scalar()
                sql_facts = SegmentRepository(c, PROGRAMME.timezone, TOP, run_date).facts(1, LAST_MEMBER_ID)
            assert threshold == top_percent_threshold(f.value_12_months for f in planned.values())
            facts = python_facts(engine, run_date, PROGRAMME.timezone, TOP)
            for member_id, row in sql_facts.items():  # the facts first: a disagreement names its field
                assert row == facts[member_id], (run_date, member_id)
            stored = stored_segments(engine)
            assert set(stored) == set(facts)
            for member_id, f in facts.items():
                segment, flags, _, stored_date = stored[member_id]
                if before.get(member_id, (None, None))[:2] != (segment, flags):
                    changed_on[member_id] = run_date
                assert stored_date == changed_on[member_id]
                assert (segment, flags) == (segment_of(f, run_date).value, flags_of(f, threshold)), (
                    run_date,
                    member_id,
                    f,
                )
    assert len({t[2] for t in transitions(engine)}) == 5, "the random members reach every segment"


def test_a_chunk_reads_no_table_whole(engine: Engine) -> None:
    """Each chunk's statement reaches its members' rows through an index: with sequential scans priced out,
    a table no index serves (the partner bonuses, read by their activity alone) would still be scanned."""
    with engine.begin() as c:
        c.execute(text("SET LOCAL enable_seqscan = off"))
        plan = c.execute(
            text("EXPLAIN (FORMAT JSON) " + segments_sql._SEGMENT),
            {"tz": "UTC", "top_tier": TOP, "d": NIGHT, "lo": 1, "hi": 100, "threshold": 1},
        ).scalar_one()

    def scanned(node: dict[str, Any]) -> list[str]:
        own = [node["Relation Name"]] if node["Node Type"] == "Seq Scan" else []
        return own + [name for child in node.get("Plans", []) for name in scanned(child)]

    assert scanned(plan[0]["Plan"]) == []
