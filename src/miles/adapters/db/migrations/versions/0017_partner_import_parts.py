"""A partner file imported by several connections at once, each recording its share of the members.

- `partner_imports.parts`: how many shares the import was started with (a run again keeps it, whatever it
  asks: the shares are how it resumes).
- `partner_import_parts`: one row per share, with the last file line it has done (`through_line`: every
  line of the share up to it is recorded, replayed or refused) and its counters; `partner_imports` gets
  the totals, summed from its shares, when the import finishes (the shares never wait on one row).

An import begun before this migration becomes one share, done through the line its counters reach (the
header is line 1 and every data line was counted). Expand-only: no existing column changes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE partner_imports ADD COLUMN parts smallint NOT NULL DEFAULT 1 CHECK (parts BETWEEN 1 AND 8);

        CREATE TABLE partner_import_parts (
            import_id    bigint NOT NULL REFERENCES partner_imports (id),
            part         smallint NOT NULL CHECK (part >= 0),
            through_line bigint NOT NULL DEFAULT 1 CHECK (through_line >= 1),
            lines_done   bigint NOT NULL DEFAULT 0 CHECK (lines_done >= 0),
            imported     bigint NOT NULL DEFAULT 0 CHECK (imported >= 0),
            replayed     bigint NOT NULL DEFAULT 0 CHECK (replayed >= 0),
            refused      bigint NOT NULL DEFAULT 0 CHECK (refused >= 0),
            miles        bigint NOT NULL DEFAULT 0 CHECK (miles >= 0),
            PRIMARY KEY (import_id, part),
            CHECK (imported + replayed + refused <= lines_done)
        );

        INSERT INTO partner_import_parts (import_id, part, through_line, lines_done, imported, replayed, refused,
                                          miles)
        SELECT id, 0, lines_done + 1, lines_done, imported, replayed, refused, miles FROM partner_imports;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE partner_import_parts;
        ALTER TABLE partner_imports DROP COLUMN parts;
        """
    )
