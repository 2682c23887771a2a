"""Idempotency keys belong to the caller and the operation (hardening).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in by the work named above


def downgrade() -> None:
    pass
