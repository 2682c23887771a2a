"""Idempotency keys belong to the caller and the operation (hardening).

- `idempotency_keys` is keyed by (owner, operation, key): the owner is the caller (an API key's prefix,
  an agent's id), the operation the use case ("redemption.cancel"...). A key is claimed (a row without
  `completed_at`) in the use case's transaction, or for a use case spanning several transactions (a
  cancellation asks its suppliers between two) in its own, and completed with the answer to replay.
  Rows written before this revision had no owner: they keep the owner 'legacy', which no caller has.
- `redemptions.cancel_requested_by` / `cancel_requested_agent_id` / `cancel_reason`: who asked for a
  cancellation, kept until the refund so that its audit row is written in the refund's transaction,
  exactly once, whoever finishes it (the request, a concurrent one, the sweeper).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE idempotency_keys RENAME COLUMN scope TO operation;
ALTER TABLE idempotency_keys ADD COLUMN owner text NOT NULL DEFAULT 'legacy'
    CHECK (length(owner) BETWEEN 1 AND 100);
ALTER TABLE idempotency_keys ALTER COLUMN owner DROP DEFAULT;
ALTER TABLE idempotency_keys ADD COLUMN claimed_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE idempotency_keys ADD COLUMN completed_at timestamptz;
UPDATE idempotency_keys SET completed_at = created_at, claimed_at = created_at WHERE status_code <> 0;
ALTER TABLE idempotency_keys DROP COLUMN status_code;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (owner, operation, key);

ALTER TABLE redemptions ADD COLUMN cancel_requested_by text CHECK (length(cancel_requested_by) <= 200);
ALTER TABLE redemptions ADD COLUMN cancel_requested_agent_id bigint REFERENCES agents (id);
ALTER TABLE redemptions ADD COLUMN cancel_reason text CHECK (length(cancel_reason) <= 500);
"""

DOWNGRADE = """
ALTER TABLE redemptions DROP COLUMN cancel_reason;
ALTER TABLE redemptions DROP COLUMN cancel_requested_agent_id;
ALTER TABLE redemptions DROP COLUMN cancel_requested_by;

DELETE FROM idempotency_keys WHERE owner <> 'legacy';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD COLUMN status_code smallint NOT NULL DEFAULT 200;
UPDATE idempotency_keys SET status_code = 0 WHERE completed_at IS NULL;
ALTER TABLE idempotency_keys ALTER COLUMN status_code DROP DEFAULT;
ALTER TABLE idempotency_keys DROP COLUMN completed_at;
ALTER TABLE idempotency_keys DROP COLUMN claimed_at;
ALTER TABLE idempotency_keys DROP COLUMN owner;
ALTER TABLE idempotency_keys RENAME COLUMN operation TO scope;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (scope, key);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
