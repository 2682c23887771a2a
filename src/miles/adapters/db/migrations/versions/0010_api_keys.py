"""API keys: expiry and revocation (hardening).

A key may carry an expiry instant; `last_used_at` records, to within a minute, when a key last let a
request in (written at most once a minute per key and process, when the verifier's cache is refreshed).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE api_keys
            ADD COLUMN expires_at timestamptz,
            ADD COLUMN last_used_at timestamptz;
        CREATE INDEX api_keys_name_idx ON api_keys (name);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX api_keys_name_idx;
        ALTER TABLE api_keys DROP COLUMN last_used_at, DROP COLUMN expires_at;
        """
    )
