"""Validate the code checks migration 0020 added NOT VALID: each table is scanned under a share update
exclusive lock, which lets reads and writes go on (0020's rule is the one the rows were checked with before,
written otherwise, so no row fails).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_CHECKS = [
    ("members", "members_tier_code"),
    ("accruals", "accruals_tier_code"),
    ("tier_changes", "tier_changes_tier_code"),
    ("partner_activities", "partner_activities_kind_check"),
    ("partner_activities", "partner_activities_category_check"),
]


def upgrade() -> None:
    op.execute("\n".join(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name};" for table, name in _CHECKS))


def downgrade() -> None:
    """Nothing to undo: a validated check stays what 0020 made it."""
