"""Finance's closed months, members' retention segments, complaints.

- `finance_periods`: a closed month (append-only: a closed month never changes): miles issued by source,
  redeemed, expired, outstanding (the lots, the debts no lot carries, the held miles, the ledger's balances),
  the young cohorts' breakage rate, and the deferred revenue rolled forward (opening + deferred - recognised
  = closing, a CHECK). `finance_period_lines`: each earn month and source's miles at the month's end (issued,
  redeemed, expired, reversed, outstanding), so that the next close starts from what this one saw. An earn
  month may be the next month: a flight leaving on its airport's today, already the 1st there, is posted on
  the programme's last day of the month.
  `finance_period_cohorts`: each earn month's breakage rate, miles expected to be redeemed, consideration
  allocated and revenue recognised to date (the cumulative catch-up) and in the month.
- `member_segments`: each member's segment and flags as the last nightly run gave them; `segment_transitions`
  (append-only): a member's segment changed on a run date, at most once per member and date (a duplicate
  delivery or a chunk run again records nothing twice); `segment_counts`: each run date's segment sizes and
  flag counts (the retention charts read them); `nightly_runs.vip_threshold` (the top-1 % value, computed
  once per night) and each chunk's segment transitions and time.
- `promotion_awards (member_id)`: an index, so that each nightly chunk reads its members' awards only.
- API keys may carry the scopes `finance:read` and `analytics:read`.
- `complaints` (append-only but for the resolution, written once): an agent's record of a member's complaint,
  with its category, text, resolution and the goodwill adjustment granted for it (service recovery).

Expand-only: no existing column changes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

SOURCES = ("flights", "partners", "promotions", "goodwill", "claims", "purchases")
SEGMENTS = "('new', 'active', 'at_risk', 'lapsed', 'lost')"
BASES = "('observed', 'mature_average', 'no_history', 'override')"

_ISSUED = ",\n    ".join(f"issued_{s} bigint NOT NULL" for s in SOURCES)
_ISSUED_SUM = " + ".join(f"issued_{s}" for s in SOURCES)

SCHEMA = f"""
CREATE TABLE finance_periods (
    month              date PRIMARY KEY CHECK (extract(day FROM month) = 1),
    currency           text NOT NULL CHECK (currency ~ '^[A-Z]{{3}}$'),
    value_per_mile     numeric(18, 6) NOT NULL CHECK (value_per_mile > 0),
    breakage_rate      numeric(7, 6) NOT NULL CHECK (breakage_rate BETWEEN 0 AND 1),
    breakage_basis     text NOT NULL CHECK (breakage_basis IN {BASES}),
    {_ISSUED},
    issued_total       bigint NOT NULL,
    miles_redeemed     bigint NOT NULL,
    miles_expired      bigint NOT NULL,
    lots_outstanding   bigint NOT NULL CHECK (lots_outstanding >= 0),
    debts              bigint NOT NULL CHECK (debts >= 0),
    miles_outstanding  bigint NOT NULL,
    miles_held         bigint NOT NULL CHECK (miles_held >= 0),
    ledger_balance     bigint NOT NULL,
    deferred_opening   numeric(24, 6) NOT NULL,
    deferred_in_month  numeric(24, 6) NOT NULL,
    revenue_recognised numeric(22, 2) NOT NULL,
    deferred_closing   numeric(24, 6) NOT NULL,
    opening_computed   boolean NOT NULL,
    closed_at          timestamptz NOT NULL,
    closed_by          text NOT NULL CHECK (length(closed_by) BETWEEN 1 AND 200),
    CHECK (issued_total = {_ISSUED_SUM}),
    CHECK (miles_outstanding = lots_outstanding - debts),
    CHECK (miles_outstanding = ledger_balance),
    CHECK (deferred_closing = deferred_opening + deferred_in_month - revenue_recognised)
);

CREATE TABLE finance_period_lines (
    month       date NOT NULL REFERENCES finance_periods (month),
    earn_month  date NOT NULL CHECK (extract(day FROM earn_month) = 1 AND earn_month <= month + interval '1 month'),
    source      text NOT NULL CHECK (source IN {SOURCES!r}),
    issued      bigint NOT NULL CHECK (issued >= 0),
    redeemed    bigint NOT NULL CHECK (redeemed >= 0),
    expired     bigint NOT NULL CHECK (expired >= 0),
    reversed    bigint NOT NULL CHECK (reversed >= 0),
    outstanding bigint NOT NULL CHECK (outstanding >= 0),
    PRIMARY KEY (month, earn_month, source),
    CHECK (issued = redeemed + expired + reversed + outstanding)
);

CREATE TABLE finance_period_cohorts (
    month              date NOT NULL REFERENCES finance_periods (month),
    earn_month         date NOT NULL CHECK (extract(day FROM earn_month) = 1 AND earn_month <= month + interval '1 month'),
    net_issued         bigint NOT NULL CHECK (net_issued >= 0),
    redeemed           bigint NOT NULL CHECK (redeemed >= 0 AND redeemed <= net_issued),
    breakage_rate      numeric(7, 6) NOT NULL CHECK (breakage_rate BETWEEN 0 AND 1),
    breakage_basis     text NOT NULL CHECK (breakage_basis IN {BASES}),
    expected_to_redeem bigint NOT NULL CHECK (expected_to_redeem BETWEEN 0 AND net_issued),
    allocated          numeric(24, 6) NOT NULL,
    revenue_to_date    numeric(22, 2) NOT NULL,
    recognised         numeric(22, 2) NOT NULL,
    PRIMARY KEY (month, earn_month)
);

CREATE TABLE member_segments (
    member_id   bigint PRIMARY KEY REFERENCES members (id),
    segment     text NOT NULL CHECK (segment IN {SEGMENTS}),
    repeat      boolean NOT NULL,
    vip         boolean NOT NULL,
    since_date  date NOT NULL,
    run_date    date NOT NULL,
    CHECK (since_date <= run_date)
);
CREATE INDEX member_segments_segment_idx ON member_segments (segment);

CREATE TABLE segment_transitions (
    id           bigserial PRIMARY KEY,
    member_id    bigint NOT NULL REFERENCES members (id),
    from_segment text CHECK (from_segment IN {SEGMENTS}),
    to_segment   text NOT NULL CHECK (to_segment IN {SEGMENTS}),
    run_date     date NOT NULL,
    UNIQUE (member_id, run_date),
    CHECK (from_segment IS DISTINCT FROM to_segment)
);
CREATE INDEX segment_transitions_date_idx ON segment_transitions (run_date, to_segment);
CREATE TRIGGER segment_transitions_append_only BEFORE UPDATE OR DELETE ON segment_transitions
    FOR EACH ROW EXECUTE FUNCTION miles_forbid_change();

CREATE TABLE segment_counts (
    run_date date NOT NULL,
    name     text NOT NULL CHECK (name IN {SEGMENTS[:-1]}, 'repeat', 'vip')),
    members  bigint NOT NULL CHECK (members >= 0),
    PRIMARY KEY (run_date, name)
);

-- the night's top-1 % threshold of 12-month value (the vip flag), computed once when the run is planned;
-- each chunk's segment work
ALTER TABLE nightly_runs ADD COLUMN vip_threshold bigint;
ALTER TABLE nightly_chunks ADD COLUMN segment_transitions integer NOT NULL DEFAULT 0,
    ADD COLUMN segments_ms integer NOT NULL DEFAULT 0;

-- a member's promotion awards (the nightly segments read each chunk's members' 12-month value through it)
CREATE INDEX promotion_awards_member_idx ON promotion_awards (member_id);

-- API keys that read finance's figures and the retention analytics
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    scopes <@ ARRAY['accrual:write', 'member:read', 'member:write', 'redemption:write', 'adjustment:write',
                    'promotion:write', 'partner:write', 'finance:read', 'analytics:read', 'admin']::text[]
    AND cardinality(scopes) > 0);

CREATE TABLE complaints (
    id                   bigserial PRIMARY KEY,
    member_id            bigint NOT NULL REFERENCES members (id),
    category             text NOT NULL CHECK (category ~ '^[a-z][a-z_]{{0,39}}$'),
    description          text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    resolution           text CHECK (length(resolution) BETWEEN 1 AND 2000),
    goodwill_id          bigint UNIQUE REFERENCES goodwill_adjustments (id),
    recorded_by          text NOT NULL CHECK (length(recorded_by) BETWEEN 1 AND 200),
    recorded_at          timestamptz NOT NULL,
    resolved_at          timestamptz,
    CHECK ((resolution IS NULL) = (resolved_at IS NULL))
);
CREATE INDEX complaints_member_idx ON complaints (member_id, id);
CREATE INDEX complaints_recorded_idx ON complaints (recorded_at);

CREATE FUNCTION miles_complaint_resolution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'complaints are never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.resolution IS NOT NULL AND NEW.resolution IS DISTINCT FROM OLD.resolution
       OR OLD.goodwill_id IS NOT NULL AND NEW.goodwill_id IS DISTINCT FROM OLD.goodwill_id
       OR (NEW.member_id, NEW.category, NEW.description, NEW.recorded_by, NEW.recorded_at)
          IS DISTINCT FROM (OLD.member_id, OLD.category, OLD.description, OLD.recorded_by, OLD.recorded_at) THEN
        RAISE EXCEPTION 'a complaint keeps what was recorded; its resolution and goodwill are written once'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER complaints_resolution BEFORE UPDATE OR DELETE ON complaints
    FOR EACH ROW EXECUTE FUNCTION miles_complaint_resolution();
"""

APPEND_ONLY = ("finance_periods", "finance_period_lines", "finance_period_cohorts")


def upgrade() -> None:
    op.execute(SCHEMA)
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION miles_forbid_change()"
        )


def downgrade() -> None:
    for table in (
        "complaints",
        "segment_counts",
        "segment_transitions",
        "member_segments",
        "finance_period_cohorts",
        "finance_period_lines",
        "finance_periods",
    ):
        op.execute(f"DROP TABLE {table}")
    op.execute("ALTER TABLE nightly_runs DROP COLUMN vip_threshold")
    op.execute("ALTER TABLE nightly_chunks DROP COLUMN segment_transitions, DROP COLUMN segments_ms")
    op.execute("DROP FUNCTION miles_complaint_resolution()")
