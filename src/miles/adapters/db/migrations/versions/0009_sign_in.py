"""Sign-in: attempts counted atomically, agents disabled (hardening).

Wrong passwords are throttled by counters, one row per (name, address, window) and one per (address,
window) (agent_name ''), each raised by a single INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so
concurrent tries can never pass the limit between a read and a write. Disabling an agent uses
agents.disabled_at; a partial index finds the live sessions that disabling ends.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE sign_in_counters (
            address       text NOT NULL CHECK (length(address) BETWEEN 1 AND 100),
            agent_name    text NOT NULL CHECK (length(agent_name) <= 100 AND agent_name = lower(agent_name)),
            window_start  timestamptz NOT NULL,
            tries         integer NOT NULL CHECK (tries >= 0),
            PRIMARY KEY (address, agent_name, window_start)
        );
        CREATE INDEX sign_in_counters_window_idx ON sign_in_counters (window_start);
        CREATE INDEX agent_sessions_live_idx ON agent_sessions (agent_id) WHERE ended_at IS NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX agent_sessions_live_idx;
        DROP TABLE sign_in_counters;
        """
    )
