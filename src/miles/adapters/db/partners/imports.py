"""Partner file imports: one `partner_imports` row per partner and file content (its sha256), with its
totals once it is finished; a row per share of the members (`partner_import_parts`) with the last
line the share has done and its counters; the lines refused (`partner_import_refusals`).

A chunk's refusals, its share's new mark and the counters it adds are written in the chunk's own
transaction, after the share's row was locked and found where the chunk starts: a crash never leaves a
chunk half-counted, and two runs of one file never both record the same lines."""

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
    parts: int


@dataclass(frozen=True)
class PartRow:
    part: int
    through_line: int  # every line of the share up to this one is done (the header is line 1)
    lines_done: int


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
       finished_at, parts FROM partner_imports"""


def _row(row: Row) -> ImportRow:  # type: ignore[type-arg]
    return ImportRow(**row._mapping)


class PartnerImportRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def open(self, partner: str, file_name: str, file_digest: str, at: datetime, parts: int) -> ImportRow:
        """The import of this file content by this partner: made now in `parts` shares, or the one made before
        (a resume, in the shares it was made with)."""
        self.connection.execute(
            text(
                "INSERT INTO partner_imports (partner, file_name, file_digest, started_at, parts) "
                "VALUES (:p, :n, :d, :at, :parts) ON CONFLICT (partner, file_digest) DO NOTHING"
            ),
            {"p": partner, "n": file_name, "d": file_digest, "at": at, "parts": parts},
        )
        row = _row(
            self.connection.execute(
                text(_ROW + " WHERE partner = :p AND file_digest = :d"), {"p": partner, "d": file_digest}
            ).one()
        )
        self.connection.execute(
            text(
                "INSERT INTO partner_import_parts (import_id, part) SELECT :id, generate_series(0, :parts - 1) "
                "ON CONFLICT DO NOTHING"
            ),
            {"id": row.id, "parts": row.parts},
        )
        return row

    def parts(self, import_id: int) -> list[PartRow]:
        rows = self.connection.execute(
            text(
                "SELECT part, through_line, lines_done FROM partner_import_parts WHERE import_id = :id "
                "ORDER BY part"
            ),
            {"id": import_id},
        )
        return [PartRow(int(r.part), int(r.through_line), int(r.lines_done)) for r in rows]

    def lock_part(self, import_id: int, part: int) -> PartRow:
        """The share's row, locked to the end of the transaction."""
        r = self.connection.execute(
            text(
                "SELECT part, through_line, lines_done FROM partner_import_parts "
                "WHERE import_id = :id AND part = :part FOR UPDATE"
            ),
            {"id": import_id, "part": part},
        ).one()
        return PartRow(int(r.part), int(r.through_line), int(r.lines_done))

    def get(self, import_id: int) -> ImportRow:
        return _row(self.connection.execute(text(_ROW + " WHERE id = :id"), {"id": import_id}).one())

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

    def advance(
        self, import_id: int, part: int, from_line: int, through_line: int, counts: ChunkCounts
    ) -> bool:
        """Add a chunk's counts to its share (now done through `through_line`), if the share is still at
        `from_line` (else nothing, and False). The import's own row is not touched: the shares never wait
        on each other to commit."""
        moved = self.connection.execute(
            text(
                "UPDATE partner_import_parts SET through_line = :through_line, lines_done = lines_done + :lines, "
                "imported = imported + :imported, replayed = replayed + :replayed, refused = refused + :refused, "
                "miles = miles + :miles WHERE import_id = :id AND part = :part AND through_line = :from_line"
            ),
            {
                "id": import_id,
                "part": part,
                "from_line": from_line,
                "through_line": through_line,
                "lines": counts.lines,
                "imported": counts.imported,
                "replayed": counts.replayed,
                "refused": counts.refused,
                "miles": counts.miles,
            },
        )
        return moved.rowcount == 1

    def finish(self, import_id: int, at: datetime) -> ImportRow:
        """The import done: its totals, summed from its shares, and the instant."""
        self.connection.execute(
            text(
                "UPDATE partner_imports i SET finished_at = :at, lines_done = s.lines_done, imported = s.imported, "
                "replayed = s.replayed, refused = s.refused, miles = s.miles FROM (SELECT sum(lines_done) AS "
                "lines_done, sum(imported) AS imported, sum(replayed) AS replayed, sum(refused) AS refused, "
                "sum(miles) AS miles FROM partner_import_parts WHERE import_id = :id) s "
                "WHERE i.id = :id AND i.finished_at IS NULL"
            ),
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
