"""Credit bounds: claims and goodwill above the limits wait for a supervisor (hardening).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in by the work named above


def downgrade() -> None:
    pass
