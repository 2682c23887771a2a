"""Indexes for the operations metrics read at scrape time (`/metrics`, `miles status`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

- `redemptions_status_idx`: redemptions by status are counted from this index alone (an index-only
  scan of a narrow index, not of the table).
- `redemption_history_outcome_idx`: the sagas that ended (CONFIRMED or FAILED) in a recent window are
  found by time without reading the whole history.

Built CONCURRENTLY, outside a transaction: a live database keeps taking redemptions meanwhile.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS redemptions_status_idx ON redemptions (status)")
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS redemption_history_outcome_idx "
            "ON redemption_history (at) WHERE status IN ('CONFIRMED', 'FAILED')"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS redemption_history_outcome_idx")
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS redemptions_status_idx")
