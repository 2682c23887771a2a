"""The nightly run: runs, chunks, tier history by run, expiries by run, expiry warnings outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = """
-- one row per programme and run date: a second start (another beat, a retry) finds it and joins
CREATE TABLE nightly_runs (
    id                   bigserial PRIMARY KEY,
    programme            text NOT NULL,
    run_date             date NOT NULL,
    programme_version_id bigint REFERENCES programme_versions (id),
    expiry_policy        text NOT NULL CHECK (expiry_policy IN ('lots', 'inactivity')),
    chunk_size           integer NOT NULL CHECK (chunk_size > 0),
    chunks               integer NOT NULL CHECK (chunks >= 0),
    chunks_done          integer NOT NULL DEFAULT 0,
    status               text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
    plan_ms              integer NOT NULL DEFAULT 0 CHECK (plan_ms >= 0),
    started_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    UNIQUE (programme, run_date),
    CHECK (chunks_done BETWEEN 0 AND chunks),
    CHECK ((status = 'done') = (finished_at IS NOT NULL)),
    CHECK (status = 'running' OR chunks_done = chunks)
);

-- the members of a run, in id ranges; a chunk's results are written with its 'done' state, in the
-- transaction that did its work
CREATE TABLE nightly_chunks (
    run_id             bigint NOT NULL REFERENCES nightly_runs (id),
    chunk_no           integer NOT NULL CHECK (chunk_no >= 0),
    first_member_id    bigint NOT NULL,
    last_member_id     bigint NOT NULL,
    state              text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
    enqueued_at        timestamptz NOT NULL DEFAULT now(),
    enqueues           integer NOT NULL DEFAULT 1 CHECK (enqueues >= 1),
    done_at            timestamptz,
    members            integer,
    requalified        integer,
    kept               integer,
    upgraded           integer,
    downgraded         integer,
    lifetime_grants    integer,
    members_expired    integer,
    lots_expired       integer,
    miles_expired      bigint,
    warnings           integer,
    requalification_ms integer,
    expiry_ms          integer,
    warnings_ms        integer,
    PRIMARY KEY (run_id, chunk_no),
    CHECK (last_member_id >= first_member_id),
    CHECK ((state = 'done') = (done_at IS NOT NULL)),
    CHECK (state = 'pending' OR (members IS NOT NULL AND miles_expired IS NOT NULL AND warnings IS NOT NULL))
);
CREATE INDEX nightly_chunks_pending_idx ON nightly_chunks (enqueued_at) WHERE state = 'pending';

-- the members a chunk has something to do for, found by one set-based statement when the run is planned
-- (standing: requalification, lifetime, upgrade or expiry, under the member's lock; warning: expiry
-- warnings); a chunk reads its own, and the run's rows are deleted when its last chunk is done. A work
-- table written in bulk and read by its primary key only: no foreign keys (a check per row).
CREATE TABLE nightly_candidates (
    run_id    bigint NOT NULL,
    chunk_no  integer NOT NULL,
    member_id bigint NOT NULL,
    standing  boolean NOT NULL,
    warning   boolean NOT NULL,
    PRIMARY KEY (run_id, chunk_no, member_id)
);

-- members and accounts rows are updated in place by every accrual and by the nightly run: room left on
-- each page lets those updates stay on the page without touching the indexes (HOT updates)
ALTER TABLE members SET (fillfactor = 85);
ALTER TABLE accounts SET (fillfactor = 85);

-- open lots by expiry date: the lots a night expires or warns about, without reading every lot
CREATE INDEX lots_expiry_idx ON lots (expires_date, member_id) WHERE remaining > 0 AND expires_date IS NOT NULL;

CREATE FUNCTION miles_chunk_done_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'chunk % of nightly run % is done: a done chunk is never redone',
        OLD.chunk_no, OLD.run_id USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER nightly_chunks_done_once BEFORE UPDATE OR DELETE ON nightly_chunks
    FOR EACH ROW WHEN (OLD.state = 'done') EXECUTE FUNCTION miles_chunk_done_once();

-- every tier change says which run made it (NULL: an accrual); a run changes a member at most once
ALTER TABLE tier_changes ADD COLUMN run_id bigint REFERENCES nightly_runs (id);
CREATE UNIQUE INDEX tier_changes_once_per_run_idx ON tier_changes (run_id, member_id) WHERE run_id IS NOT NULL;

-- the expiry transfers of a run: at most one per member and run. Written in bulk by the statement that
-- writes the transfers themselves: no foreign keys (a check per row, on the night's largest write).
CREATE TABLE nightly_expiries (
    run_id      bigint NOT NULL,
    member_id   bigint NOT NULL,
    transfer_id bigint NOT NULL UNIQUE,
    miles       bigint NOT NULL CHECK (miles > 0),
    PRIMARY KEY (run_id, member_id)
);

-- expiry warnings: an outbox relayed to the notifier; one per member and expiry date, ever
CREATE TABLE expiry_warnings (
    id           bigserial PRIMARY KEY,
    member_id    bigint NOT NULL REFERENCES members (id),
    expires_date date NOT NULL,
    miles        bigint NOT NULL CHECK (miles > 0),
    run_id       bigint NOT NULL,  -- the run that made it (no foreign key: a check per row)
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   text,
    UNIQUE (member_id, expires_date)
);
CREATE INDEX expiry_warnings_unsent_idx ON expiry_warnings (id) WHERE sent_at IS NULL;
CREATE INDEX expiry_warnings_run_idx ON expiry_warnings (run_id);
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE expiry_warnings;
        DROP TABLE nightly_expiries;
        DROP INDEX lots_expiry_idx;
        DROP TABLE nightly_candidates;
        DROP INDEX tier_changes_once_per_run_idx;
        ALTER TABLE tier_changes DROP COLUMN run_id;
        DROP TABLE nightly_chunks;
        ALTER TABLE members RESET (fillfactor);
        ALTER TABLE accounts RESET (fillfactor);
        DROP FUNCTION miles_chunk_done_once();
        DROP TABLE nightly_runs;
        """
    )
