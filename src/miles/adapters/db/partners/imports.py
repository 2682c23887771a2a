"""Partner file imports: one `partner_imports` row per partner and file content (its sha256), with the
counters of the lines committed so far, and the lines it refused (`partner_import_refusals`).

A chunk's refusals and the counters it adds are written in the chunk's own transaction, after the row was
locked and found where the chunk starts: a crash never leaves a chunk half-counted, and two runs of one
file never both record the same lines."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, text

STREAM_ROWS = 2_000  # refusals fetched at a time when the report is written


@dataclass(frozen=True)
class ImportRow:
    id: int
    partner: str
    file_name: str
    file_digest: str
    lines_done: int
    imported: int
    replayed: int
    refused: int
    miles: int
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Refusal:
    line_no: int
    activity_id: str | None
    field: str | None
    code: str
    reason: str


@dataclass(frozen=True)
class ChunkCounts:
    lines: int  # data lines the chunk covers (each imported, replayed or refused)
    imported: int
    replayed: int
    refused: int
    miles: int  # miles of the activities the chunk recorded


_ROW = """SELECT id, partner, file_name, file_digest, lines_done, imported, replayed, refused, miles, started_at,
       finished_at FROM partner_imports"""


def _row(row: Row) -> ImportRow:  # type: ignore[type-arg]
    return ImportRow(**row._mapping)


class PartnerImportRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def open(self, partner: str, file_name: str, file_digest: str, at: datetime) -> ImportRow:
        """The import of this file content by this partner: made now, or the one made before (a resume)."""
        self.connection.execute(
            text(
                "INSERT INTO partner_imports (partner, file_name, file_digest, started_at) "
                "VALUES (:p, :n, :d, :at) ON CONFLICT (partner, file_digest) DO NOTHING"
            ),
            {"p": partner, "n": file_name, "d": file_digest, "at": at},
        )
        row = self.connection.execute(
            text(_ROW + " WHERE partner = :p AND file_digest = :d"), {"p": partner, "d": file_digest}
        ).one()
        return _row(row)

    def get(self, import_id: int, lock: bool = False) -> ImportRow:
        sql = _ROW + " WHERE id = :id" + (" FOR UPDATE" if lock else "")
        return _row(self.connection.execute(text(sql), {"id": import_id}).one())

    def add_refusals(self, import_id: int, refusals: Sequence[Refusal]) -> None:
        if not refusals:
            return
        self.connection.execute(
            text(
                "INSERT INTO partner_import_refusals (import_id, line_no, activity_id, field, code, reason) "
                "SELECT :id, * FROM unnest(CAST(:lines AS bigint[]), CAST(:ids AS text[]), "
                "CAST(:fields AS text[]), CAST(:codes AS text[]), CAST(:reasons AS text[]))"
            ),
            {
                "id": import_id,
                "lines": [r.line_no for r in refusals],
                "ids": [r.activity_id for r in refusals],
                "fields": [r.field for r in refusals],
                "codes": [r.code for r in refusals],
                "reasons": [r.reason for r in refusals],
            },
        )

    def advance(self, import_id: int, from_lines: int, counts: ChunkCounts) -> bool:
        """Add a chunk's counts, if the import is still at `from_lines` (else nothing, and False)."""
        result = self.connection.execute(
            text(
                "UPDATE partner_imports SET lines_done = lines_done + :lines, imported = imported + :imported, "
                "replayed = replayed + :replayed, refused = refused + :refused, miles = miles + :miles "
                "WHERE id = :id AND lines_done = :from_lines"
            ),
            {
                "id": import_id,
                "from_lines": from_lines,
                "lines": counts.lines,
                "imported": counts.imported,
                "replayed": counts.replayed,
                "refused": counts.refused,
                "miles": counts.miles,
            },
        )
        return result.rowcount == 1

    def finish(self, import_id: int, at: datetime) -> ImportRow:
        self.connection.execute(
            text("UPDATE partner_imports SET finished_at = :at WHERE id = :id AND finished_at IS NULL"),
            {"id": import_id, "at": at},
        )
        return self.get(import_id)

    def refusals(self, import_id: int) -> Iterator[Refusal]:
        """The import's refused lines in line order, fetched a few thousand at a time (server-side cursor)."""
        rows = self.connection.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(
            text(
                "SELECT line_no, activity_id, field, code, reason FROM partner_import_refusals "
                "WHERE import_id = :id ORDER BY line_no"
            ),
            {"id": import_id},
        )
        for row in rows:
            yield Refusal(**row._mapping)
