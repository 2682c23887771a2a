"""The agents' console: agents, sessions, sign-in attempts, goodwill adjustments, missing-miles claims,
the audit trail, and the indexes that find a member by name or e-mail among millions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

REASONS = "('service_recovery','delay','baggage','complaint','birthday','other')"

SCHEMA = f"""
CREATE TABLE agents (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{{0,49}}$'),
    role          text NOT NULL CHECK (role IN ('agent', 'supervisor')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);
CREATE UNIQUE INDEX agents_name_idx ON agents (lower(name));

CREATE TABLE agent_sessions (
    id          bigserial PRIMARY KEY,
    token_hash  text NOT NULL UNIQUE,
    agent_id    bigint NOT NULL REFERENCES agents (id),
    csrf_token  text NOT NULL,
    address     text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX agent_sessions_agent_idx ON agent_sessions (agent_id);

CREATE TABLE sign_in_attempts (
    id          bigserial PRIMARY KEY,
    agent_name  text NOT NULL,
    address     text NOT NULL,
    succeeded   boolean NOT NULL,
    at          timestamptz NOT NULL
);
CREATE INDEX sign_in_attempts_name_idx ON sign_in_attempts (lower(agent_name), at);
CREATE INDEX sign_in_attempts_address_idx ON sign_in_attempts (address, at) WHERE NOT succeeded;

CREATE TABLE console_secrets (
    id          smallint PRIMARY KEY CHECK (id = 1),
    secret      text NOT NULL CHECK (length(secret) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE goodwill_adjustments (
    id                     bigserial PRIMARY KEY,
    member_id              bigint NOT NULL REFERENCES members (id),
    miles                  integer NOT NULL CHECK (miles > 0),
    reason_code            text NOT NULL CHECK (reason_code IN {REASONS}),
    comment                text NOT NULL CHECK (length(comment) BETWEEN 1 AND 500),
    status                 text NOT NULL CHECK (status IN ('APPLIED', 'PENDING', 'APPROVED', 'REJECTED')),
    requested_by           text NOT NULL,
    requested_by_agent_id  bigint REFERENCES agents (id),
    requested_at           timestamptz NOT NULL,
    decided_by             text,
    decided_by_agent_id    bigint REFERENCES agents (id),
    decided_at             timestamptz,
    decision_note          text CHECK (length(decision_note) <= 500),
    transfer_id            bigint UNIQUE REFERENCES transfers (id),
    request_key            text UNIQUE CHECK (length(request_key) BETWEEN 1 AND 200),
    request_digest         text,
    CHECK (decided_by_agent_id IS NULL OR decided_by_agent_id IS DISTINCT FROM requested_by_agent_id),
    CHECK ((status IN ('APPLIED', 'APPROVED')) = (transfer_id IS NOT NULL)),
    CHECK ((status IN ('APPROVED', 'REJECTED')) = (decided_at IS NOT NULL AND decided_by IS NOT NULL))
);
CREATE INDEX goodwill_adjustments_pending_idx ON goodwill_adjustments (id) WHERE status = 'PENDING';
CREATE INDEX goodwill_adjustments_member_idx ON goodwill_adjustments (member_id, id);

CREATE TABLE missing_miles_claims (
    id                 bigserial PRIMARY KEY,
    member_id          bigint NOT NULL REFERENCES members (id),
    accrual_id         bigint NOT NULL UNIQUE REFERENCES accruals (id),
    filed_by           text NOT NULL,
    filed_by_agent_id  bigint REFERENCES agents (id),
    comment            text CHECK (length(comment) <= 500),
    request_key        text UNIQUE CHECK (length(request_key) BETWEEN 1 AND 200),
    created_at         timestamptz NOT NULL
);
CREATE INDEX missing_miles_claims_member_idx ON missing_miles_claims (member_id, id);

CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    agent_id   bigint REFERENCES agents (id),
    action     text NOT NULL CHECK (action ~ '^[a-z][a-z_.]*$'),
    member_id  bigint REFERENCES members (id),
    subject    text,
    reason     text,
    details    jsonb NOT NULL DEFAULT '{{}}'::jsonb
);
CREATE INDEX audit_log_member_idx ON audit_log (member_id, id) WHERE member_id IS NOT NULL;
CREATE INDEX audit_log_agent_idx ON audit_log (agent_id, id);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION miles_forbid_change();

-- finding a member by the start of a name or an e-mail address, whatever the database's collation
CREATE INDEX members_family_prefix_idx ON members (lower(family_name) text_pattern_ops, lower(given_name) text_pattern_ops);
CREATE INDEX members_email_prefix_idx ON members (lower(email) text_pattern_ops);
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    for index in ("members_email_prefix_idx", "members_family_prefix_idx"):
        op.execute(f"DROP INDEX {index}")
    for table in (
        "audit_log",
        "missing_miles_claims",
        "goodwill_adjustments",
        "console_secrets",
        "sign_in_attempts",
        "agent_sessions",
        "agents",
    ):
        op.execute(f"DROP TABLE {table}")
