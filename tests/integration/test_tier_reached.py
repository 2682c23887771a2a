"""The tier each period's totals reach, kept by PostgreSQL (`qualifying_totals.tier_reached`): the
programme's ladder answer for every row, for every shipped programme; written again, and only where it
changes, when a programme with other thresholds is loaded; untouched when the same one is loaded again;
never read by a night while an install is under way; NULL, and not read, in a database just upgraded."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from psycopg.errors import LockNotAvailable
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from miles.adapters.db.engine import make_engine
from miles.adapters.db.migrate import upgrade
from miles.adapters.db.tier_reached import TierReachedRepository, body
from miles.bootstrap import Container
from miles.domain.programme.model import Programme
from miles.programme.reading import example_files, read_document, read_file, read_reference, reference_text
from miles.services.nightly.runs import start_job
from miles.services.programmes import ensure_programme, load_programme
from tests.conftest import migrated_database
from tests.integration.nightly_data import MemberSpec, night_runner, seed, wait_for_night

PROGRAMMES = [None, *example_files()]  # None: the reference programme


@pytest.fixture
def runtime(database_url: str) -> Iterator[Container]:
    with night_runner(database_url) as container:
        yield container


def programme_of(path: Path | None) -> Programme:
    return (read_reference() if path is None else read_file(path)).versions[-1]


def reference_variant(path: Path, line: str, instead: str) -> Path:
    """The reference rules file with one line of it written otherwise, at `path`."""
    text_ = reference_text()
    assert line in text_
    path.write_text(text_.replace(line, instead))
    return path


def either_side(programme: Programme, code: str) -> list[Decimal]:
    """A metric's totals at, just under and just over each threshold naming it, and 0."""
    step = Decimal("0.01") if (m := programme.metric(code)) is not None and m.money else Decimal(1)
    out = {Decimal(0)}
    for tier in programme.ladder.tiers:
        for requirement in tier.requirements:
            for metric, value in requirement.minimums.items():
                if metric == code:
                    out |= {value - step, value, value + step}
    return sorted(out)


def members_around_the_thresholds(programme: Programme, count: int) -> list[MemberSpec]:
    rng = random.Random(programme.name)
    base = programme.ladder.base.code
    return [
        MemberSpec(
            tier=base,
            lifetime_tier=base,
            metrics={
                start: {code: rng.choice(either_side(programme, code)) for code in programme.metric_codes}
                for start in (date(2026, 1, 1), date(2027, 1, 1))
            },
        )
        for _ in range(count)
    ]


def disagreements(engine: Engine, programme: Programme) -> list[tuple[object, int | None, int]]:
    """Each period whose stored tier reached is not the rank of the tier its metrics earn by the ladder."""
    with engine.connect() as c:
        rows = c.execute(text("SELECT metrics, tier_reached FROM qualifying_totals")).all()
    assert rows
    wrong = []
    for metrics, stored in rows:
        totals = dict(zip(programme.metric_codes, metrics, strict=False))
        rank = programme.ladder.earned(totals).rank
        if stored != rank:
            wrong.append((metrics, stored, rank))
    return wrong


@pytest.mark.parametrize("path", PROGRAMMES, ids=lambda p: "aurora" if p is None else p.stem)
def test_every_periods_stored_tier_reached_is_the_rank_its_metrics_earn(
    engine: Engine, runtime: Container, path: Path | None
) -> None:
    programme = programme_of(path)
    if path is not None:
        load_programme(runtime, path)
    seed(engine, members_around_the_thresholds(programme, 300), programme)
    with engine.connect() as c:
        assert TierReachedRepository(c).installed() == body(programme)
        reached = c.execute(text("SELECT DISTINCT tier_reached FROM qualifying_totals")).scalars().all()
    assert disagreements(engine, programme) == []
    assert len(set(reached)) == len(programme.ladder.tiers)  # every tier is somebody's


def test_loading_other_thresholds_writes_the_periods_again_and_the_same_ones_writes_nothing(
    engine: Engine, runtime: Container, tmp_path: Path
) -> None:
    reference = programme_of(None)
    seed(engine, members_around_the_thresholds(reference, 300), reference)
    variant = reference_variant(
        tmp_path / "lower-silver.yaml",
        "qualify: [{status_miles: 25000}, {segments: 30}]",
        "qualify: [{status_miles: 20000}, {segments: 30}]",
    )
    lower = programme_of(variant)
    assert body(lower) != body(reference)
    assert disagreements(engine, lower) != []  # the stored values are the reference's

    load_programme(runtime, variant)

    assert disagreements(engine, lower) == []
    with engine.begin() as c:
        assert TierReachedRepository(c).install(lower) is None  # nothing to write again
    ensure_programme(runtime)  # what `miles db upgrade` does: the programme in force is already written
    with engine.connect() as c:
        assert TierReachedRepository(c).installed() == body(lower)


def test_a_night_reading_the_stored_tiers_holds_off_an_install_and_waits_for_one(engine: Engine) -> None:
    reference, other = programme_of(None), programme_of(example_files()[0])
    with engine.connect() as night, engine.connect() as loader:
        with night.begin():
            assert TierReachedRepository(night).readable_for(reference)
            with loader.begin():
                loader.execute(text("SET LOCAL lock_timeout = '300ms'"))
                with pytest.raises(OperationalError) as waited:
                    TierReachedRepository(loader).install(other)
                assert isinstance(waited.value.orig, LockNotAvailable)
        with loader.begin():
            assert TierReachedRepository(loader).install(other) == 0  # no period yet: nothing to write
            with night.begin():
                night.execute(text("SET LOCAL lock_timeout = '300ms'"))
                with pytest.raises(OperationalError) as waited:
                    TierReachedRepository(night).readable_for(other)
                assert isinstance(waited.value.orig, LockNotAvailable)
        with night.begin():  # the install committed: a night of the reference programme reads the arrays
            assert not TierReachedRepository(night).readable_for(reference)
            assert TierReachedRepository(night).readable_for(other)


def test_an_upgraded_database_reads_the_arrays_until_the_tiers_reached_are_written(database_url: str) -> None:
    server = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    reference = programme_of(None)
    with migrated_database(server, revision="0018") as url:
        engine = make_engine(url)
        try:
            seed(engine, members_around_the_thresholds(reference, 50), reference)
            upgrade(url)
            with engine.begin() as c:
                assert c.execute(
                    text("SELECT count(*) FROM qualifying_totals WHERE tier_reached IS NULL")
                ).scalar()
                assert not TierReachedRepository(c).readable_for(reference)
            with engine.begin() as c:
                assert TierReachedRepository(c).install(reference) == 100  # every period of the 50
            assert disagreements(engine, reference) == []
        finally:
            engine.dispose()


def test_a_programme_read_from_its_file_or_its_stored_document_writes_the_same_function(
    engine: Engine, runtime: Container, tmp_path: Path
) -> None:
    # an AND set in the metrics' order, which the database reorders in the stored document (shorter keys first)
    variant = reference_variant(
        tmp_path / "and-set.yaml",
        "qualify: [{status_miles: 75000}, {segments: 100}]",
        "qualify: [{status_miles: 75000, segments: 90}, {segments: 100}]",
    )
    from_file = read_file(variant)
    load_programme(runtime, variant)
    with engine.connect() as c:
        stored = c.execute(text("SELECT document FROM programme_versions ORDER BY id DESC LIMIT 1")).scalar()
        installed = TierReachedRepository(c).installed()
    assert installed == body(from_file.versions[-1]) == body(read_document(stored).versions[-1])


def test_the_nights_start_writes_the_tiers_reached_of_thresholds_that_took_effect(
    engine: Engine, runtime: Container
) -> None:
    reference = programme_of(None)
    seed(engine, members_around_the_thresholds(reference, 50), reference)
    with engine.begin() as c:  # another programme's function, as before a version with new thresholds
        TierReachedRepository(c).install(programme_of(example_files()[0]))

    started = start_job(runtime, "2034-12-31")
    wait_for_night(runtime, int(str(started["run_id"])), date(2034, 12, 31))  # no job left running

    with engine.connect() as c:
        assert TierReachedRepository(c).installed() == body(reference)
    assert disagreements(engine, reference) == []
