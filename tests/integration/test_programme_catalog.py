"""The programme in force, as a process caches it, follows the document: a version id reused after the
tables were emptied (as between tests, under a live server) names another document, and that one is read."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from miles.adapters.db.unit_of_work import UnitOfWork
from miles.bootstrap import Container
from miles.services.programmes import ProgrammeCatalog, ensure_programme, load_programme
from tests.integration.conftest import reset
from tests.integration.nightly_data import inactivity_rules_text


def test_a_version_id_reused_for_another_document_is_read_again(
    engine: Engine, container: Container, tmp_path: Path
) -> None:
    catalog = ProgrammeCatalog(ttl_seconds=0)
    variant = tmp_path / "inactivity.yaml"
    variant.write_text(inactivity_rules_text())
    first_id, _ = load_programme(container, variant)
    with UnitOfWork(engine) as uow:
        assert catalog.current(uow).name == "Aurora Miles (inactivity)"
    reset(engine)
    ensure_programme(container)
    with UnitOfWork(engine) as uow:
        assert uow.programmes.latest_id() == first_id
    with UnitOfWork(engine) as uow:
        assert catalog.current(uow).name == "Aurora Miles"
