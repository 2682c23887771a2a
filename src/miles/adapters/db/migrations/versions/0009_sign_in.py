"""Sign-in: attempts counted atomically, agents disabled (hardening).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in by the work named above


def downgrade() -> None:
    pass
