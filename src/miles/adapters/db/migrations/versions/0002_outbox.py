"""The transactional outbox for background jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE task_outbox (
            id            bigserial PRIMARY KEY,
            task          text NOT NULL CHECK (task ~ '^[a-z][a-z0-9_.]*$'),
            payload       jsonb NOT NULL,
            request_id    text,
            created_at    timestamptz NOT NULL DEFAULT now(),
            dispatched_at timestamptz
        );
        CREATE INDEX task_outbox_pending_idx ON task_outbox (id) WHERE dispatched_at IS NULL;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE task_outbox")
