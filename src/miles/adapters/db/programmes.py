"""Programme versions: every loaded rules file is kept; the newest load is in force."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text


class ProgrammeRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, programme: str, digest: str, document: dict[str, Any]) -> int:
        return int(
            self.connection.execute(
                text(
                    "INSERT INTO programme_versions (programme, digest, document) "
                    "VALUES (:p, :d, CAST(:doc AS jsonb)) RETURNING id"
                ),
                {"p": programme, "d": digest, "doc": json.dumps(document)},
            ).scalar_one()
        )

    def latest_id(self) -> int | None:
        value = self.connection.execute(text("SELECT max(id) FROM programme_versions")).scalar()
        return None if value is None else int(value)

    def document(self, version_id: int) -> tuple[str, dict[str, Any]]:
        row = self.connection.execute(
            text("SELECT digest, document FROM programme_versions WHERE id = :id"), {"id": version_id}
        ).one()
        return row.digest, row.document
