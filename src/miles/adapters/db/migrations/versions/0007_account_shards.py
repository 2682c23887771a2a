"""Programme accounts split into shards, so that concurrent transactions do not queue on one row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Every accrual, reversal, goodwill grant and redemption moves miles between a member's account and a
programme account (`accrual-flight`, `goodwill`, `redemption-clearing`, `expired`). With one row per
programme account, each of those transactions updates the same row and holds its lock until its commit
is flushed to disk: commits queue one behind the other and group commit never happens (measured:
~240 accruals/s, the rate of one WAL flush after another). Each programme account is now 64 rows with
the same code and shards 0-63; a transaction uses the shard its member's id falls on. Every shard is a
real account with its own entries, so balance == sum of entries holds per row, and a programme
account's balance is the sum over its shards.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SHARDS = 64  # miles.adapters.db.ledger.PROGRAMME_ACCOUNT_SHARDS at the time of this migration


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE accounts ADD COLUMN shard smallint NOT NULL DEFAULT 0 CHECK (shard BETWEEN 0 AND 255);
        ALTER TABLE accounts ADD CHECK (shard = 0 OR member_id IS NULL);
        ALTER TABLE accounts DROP CONSTRAINT accounts_code_key;
        ALTER TABLE accounts ADD CONSTRAINT accounts_code_shard_key UNIQUE (code, shard);
        INSERT INTO accounts (code, shard, allow_negative)
        SELECT a.code, s, a.allow_negative
        FROM accounts a, generate_series(1, {SHARDS - 1}) s
        WHERE a.member_id IS NULL AND a.shard = 0
        ORDER BY a.code, s;
        """
    )


def downgrade() -> None:
    raise NotImplementedError("shards hold entries of their own: merging them back is not supported")
