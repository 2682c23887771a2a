"""Credit bounds: claims and goodwill above the limits wait for a supervisor (hardening).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

A missing-miles claim that would earn more than the agent limit is kept, with its coupon, as a PENDING
claim until a supervisor (not the one who filed it) approves it, when it is earned through the accrual
use case, or rejects it. So a claim has an accrual only once applied or approved. One coupon has at most
one claim waiting. No lot opens already past its expiry on the day it was earned.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE missing_miles_claims
    ALTER COLUMN accrual_id DROP NOT NULL,
    ADD COLUMN status text NOT NULL DEFAULT 'APPLIED'
        CHECK (status IN ('APPLIED', 'PENDING', 'APPROVED', 'REJECTED')),
    ADD COLUMN coupon jsonb,
    ADD COLUMN request_digest text,
    ADD COLUMN held_miles integer CHECK (held_miles >= 0),
    ADD COLUMN decided_by text,
    ADD COLUMN decided_by_agent_id bigint REFERENCES agents (id),
    ADD COLUMN decided_at timestamptz,
    ADD COLUMN decision_note text CHECK (length(decision_note) <= 500),
    ADD CONSTRAINT missing_miles_claims_accrual_when_credited
        CHECK ((status IN ('APPLIED', 'APPROVED')) = (accrual_id IS NOT NULL)),
    ADD CONSTRAINT missing_miles_claims_waiting_keeps_coupon
        CHECK (status = 'APPLIED' OR (coupon IS NOT NULL AND request_digest IS NOT NULL)),
    ADD CONSTRAINT missing_miles_claims_decided
        CHECK ((status IN ('APPROVED', 'REJECTED')) = (decided_at IS NOT NULL AND decided_by IS NOT NULL)),
    ADD CONSTRAINT missing_miles_claims_not_own
        CHECK (decided_by_agent_id IS NULL OR decided_by_agent_id IS DISTINCT FROM filed_by_agent_id);
CREATE INDEX missing_miles_claims_pending_idx ON missing_miles_claims (id) WHERE status = 'PENDING';
CREATE UNIQUE INDEX missing_miles_claims_one_waiting_idx
    ON missing_miles_claims ((coupon ->> 'ticket_number'), ((coupon ->> 'coupon_number')::int))
    WHERE status = 'PENDING';
ALTER TABLE lots ADD CONSTRAINT lots_not_born_expired CHECK (expires_date >= earned_date);
"""

DOWNGRADE = """
ALTER TABLE lots DROP CONSTRAINT lots_not_born_expired;
DROP INDEX missing_miles_claims_one_waiting_idx;
DROP INDEX missing_miles_claims_pending_idx;
DELETE FROM missing_miles_claims WHERE accrual_id IS NULL;
ALTER TABLE missing_miles_claims
    DROP CONSTRAINT missing_miles_claims_not_own,
    DROP CONSTRAINT missing_miles_claims_decided,
    DROP CONSTRAINT missing_miles_claims_waiting_keeps_coupon,
    DROP CONSTRAINT missing_miles_claims_accrual_when_credited,
    DROP COLUMN decision_note,
    DROP COLUMN decided_at,
    DROP COLUMN decided_by_agent_id,
    DROP COLUMN decided_by,
    DROP COLUMN held_miles,
    DROP COLUMN request_digest,
    DROP COLUMN coupon,
    DROP COLUMN status,
    ALTER COLUMN accrual_id SET NOT NULL;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
