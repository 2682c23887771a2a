"""The instant each transfer was posted, on the process's clock: finance closes months by the dates miles
were posted (a claim for an October flight posted in December counts in December), and MILES_CLOCK_AT
moves that clock in tests and rehearsals as it moves every other time rule.

`transfers.posted_at` is set by every path that writes a transfer (the unit of work's instant); rows
written before this migration keep it empty and are read by their `created_at` (the database's clock, the
same instant when no clock is pinned). Expand-only: adding a column without a value rewrites nothing.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE transfers ADD COLUMN posted_at timestamptz;
        ALTER TABLE transfers ALTER COLUMN posted_at SET DEFAULT now();
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE transfers DROP COLUMN posted_at")
