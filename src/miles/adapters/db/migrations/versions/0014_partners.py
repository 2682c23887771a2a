"""Partners: their members' activities (pending, posted, cancelled, reversed), partner-bound API keys,
file imports, and closed monthly settlements.

- `partner_activities`: one row per activity a partner reported, unique per partner and the partner's
  `activity_id` (a replay finds it). Its miles are pending until `posts_on`, then posted once (a
  `partner_accrual` transfer from the sharded `accrual-partner` account, with its lot). A reversal before
  posting cancels it (it never posts); after, a `partner_accrual_reversal` transfer takes the miles back.
  A trigger allows only those moves (pending -> posted | cancelled, posted -> reversed) and keeps what was
  reported and earned as it was; rows are never deleted. `posted_month` and `reversal_month` are the
  settlement months the posting and the reversal count in (the month they happened, or the first month
  still open when that one was closed already).
- `status_credits.partner_activity_id`: the qualifying credits a posted activity gave (a contract's
  `credits`), which its reversal takes back.
- `transfers.partner_activity_id`: the activity a partner transfer is for; at most one posting transfer
  per activity (a unique index), and a reversal reverses it once (`reverses_transfer_id` is unique). A
  promotion bonus on the activity names it too (with its promotion).
- Promotions get the trigger `partner`; `promotion_awards.partner_activity_id` names the activity a bonus
  was earned by (each award is earned by exactly one accrual, birthday or partner activity).
- `partner_settlements`: a partner's closed month, append-only (a closed month never changes).
- `partner_imports` and their refused lines: a file import's progress (lines committed), so that a run
  again (or after a crash) resumes and never doubles.
- API keys may name the partner they are bound to and carry the scope `partner:write`; console users may
  be `finance`.

Expand-only: no existing column changes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SHARDS = 64
PARTNER = r"'^[A-Z][A-Z0-9_]{0,11}$'"

UPGRADE = f"""
CREATE TABLE partner_activities (
    id              bigserial PRIMARY KEY,
    partner         text NOT NULL CHECK (partner ~ {PARTNER}),
    activity_id     text NOT NULL CHECK (length(activity_id) BETWEEN 1 AND 64),
    member_id       bigint NOT NULL REFERENCES members (id),
    request_digest  text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('api', 'batch', 'file')),
    activity_date   date NOT NULL,
    kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{{0,23}}$'),
    category        text CHECK (category ~ '^[a-z][a-z0-9_]{{0,23}}$'),
    nights          smallint CHECK (nights BETWEEN 1 AND 365),
    days            smallint CHECK (days BETWEEN 1 AND 365),
    amount          numeric(14, 2) CHECK (amount > 0),
    currency        text CHECK (currency ~ '^[A-Z]{{3}}$'),
    amount_value    numeric(16, 4) CHECK (amount_value >= 0),
    miles           bigint NOT NULL CHECK (miles >= 0 AND miles <= 100000000),
    credits         jsonb,
    status          text NOT NULL CHECK (status IN ('pending', 'posted', 'cancelled', 'reversed')),
    posts_on        date NOT NULL CHECK (posts_on >= activity_date),
    posted_on       date,
    posted_month    date CHECK (extract(day FROM posted_month) = 1),
    reversed_on     date,
    reversal_month  date CHECK (extract(day FROM reversal_month) = 1),
    reversal_reason text CHECK (length(reversal_reason) BETWEEN 1 AND 500),
    reversal_digest text,
    recorded_on     date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (partner, activity_id),
    CHECK ((amount IS NULL) = (currency IS NULL)),
    CHECK ((status IN ('posted', 'reversed')) = (posted_on IS NOT NULL)),
    CHECK ((posted_on IS NULL) = (posted_month IS NULL)),
    CHECK ((status IN ('cancelled', 'reversed')) = (reversed_on IS NOT NULL AND reversal_digest IS NOT NULL)),
    CHECK ((status = 'reversed') = (reversal_month IS NOT NULL))
);
CREATE INDEX partner_activities_due_idx ON partner_activities (member_id, posts_on) WHERE status = 'pending';
CREATE INDEX partner_activities_member_idx ON partner_activities (member_id, activity_date);
CREATE INDEX partner_activities_posted_idx ON partner_activities (partner, posted_month)
    WHERE posted_month IS NOT NULL;
CREATE INDEX partner_activities_reversed_idx ON partner_activities (partner, reversal_month)
    WHERE reversal_month IS NOT NULL;

CREATE FUNCTION miles_partner_activity_moves() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'partner activities are never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.id, NEW.partner, NEW.activity_id, NEW.member_id, NEW.request_digest, NEW.activity_date,
        NEW.kind, NEW.category, NEW.nights, NEW.days, NEW.amount, NEW.currency, NEW.miles, NEW.posts_on,
        NEW.recorded_on, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.partner, OLD.activity_id, OLD.member_id, OLD.request_digest, OLD.activity_date,
        OLD.kind, OLD.category, OLD.nights, OLD.days, OLD.amount, OLD.currency, OLD.miles, OLD.posts_on,
        OLD.recorded_on, OLD.created_at) THEN
        RAISE EXCEPTION 'a partner activity keeps what was reported and earned' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NOT ((OLD.status = 'pending' AND NEW.status IN ('posted', 'cancelled'))
            OR (OLD.status = 'posted' AND NEW.status = 'reversed')) THEN
        RAISE EXCEPTION 'a partner activity cannot go from % to %', OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.posted_on IS NOT NULL AND (NEW.posted_on, NEW.posted_month) IS DISTINCT FROM (OLD.posted_on, OLD.posted_month) THEN
        RAISE EXCEPTION 'a posting is never moved' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER partner_activities_moves BEFORE UPDATE OR DELETE ON partner_activities
    FOR EACH ROW EXECUTE FUNCTION miles_partner_activity_moves();

ALTER TABLE transfers ADD COLUMN partner_activity_id bigint REFERENCES partner_activities (id);
-- a contract's qualifying credits, credited when the activity posts: its reversal takes back these rows
ALTER TABLE status_credits ADD COLUMN partner_activity_id bigint REFERENCES partner_activities (id);
CREATE UNIQUE INDEX transfers_partner_posting_key ON transfers (partner_activity_id)
    WHERE partner_activity_id IS NOT NULL AND reverses_transfer_id IS NULL AND promotion_id IS NULL;

-- promotions with the trigger `partner`: a bonus on a partner activity when its miles post
ALTER TABLE promotions DROP CONSTRAINT promotions_trigger_check;
ALTER TABLE promotions ADD CONSTRAINT promotions_trigger_check
    CHECK (trigger IN ('flight', 'challenge', 'birthday', 'enrolment', 'partner'));
ALTER TABLE promotion_awards ADD COLUMN partner_activity_id bigint REFERENCES partner_activities (id);
DO $$
DECLARE name text;
BEGIN
    SELECT conname INTO STRICT name FROM pg_constraint
    WHERE conrelid = 'promotion_awards'::regclass AND contype = 'c'
      AND pg_get_constraintdef(oid) LIKE '%accrual_id IS NOT NULL%birthday_year IS NOT NULL%';
    EXECUTE format('ALTER TABLE promotion_awards DROP CONSTRAINT %I', name);
END $$;
ALTER TABLE promotion_awards ADD CONSTRAINT promotion_awards_earned_by
    CHECK (num_nonnulls(accrual_id, birthday_year, partner_activity_id) = 1);
CREATE UNIQUE INDEX promotion_awards_partner_key ON promotion_awards (partner_activity_id, promotion_id)
    WHERE reverses_award_id IS NULL AND partner_activity_id IS NOT NULL;

CREATE TABLE partner_settlements (
    partner        text NOT NULL CHECK (partner ~ {PARTNER}),
    month          date NOT NULL CHECK (extract(day FROM month) = 1),
    activities     bigint NOT NULL CHECK (activities >= 0),
    miles_issued   bigint NOT NULL CHECK (miles_issued >= 0),
    miles_reversed bigint NOT NULL CHECK (miles_reversed >= 0),
    net_miles      bigint NOT NULL,
    price_per_mile numeric(12, 6) NOT NULL CHECK (price_per_mile > 0),
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{{3}}$'),
    amount_due     numeric(18, 2) NOT NULL,
    closed_at      timestamptz NOT NULL,
    closed_by      text NOT NULL CHECK (length(closed_by) BETWEEN 1 AND 200),
    PRIMARY KEY (partner, month),
    CHECK (net_miles = miles_issued - miles_reversed)
);
CREATE TRIGGER partner_settlements_append_only BEFORE UPDATE OR DELETE ON partner_settlements
    FOR EACH ROW EXECUTE FUNCTION miles_forbid_change();

CREATE TABLE partner_imports (
    id          bigserial PRIMARY KEY,
    partner     text NOT NULL CHECK (partner ~ {PARTNER}),
    file_name   text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 1000),
    file_digest text NOT NULL CHECK (file_digest ~ '^[0-9a-f]{{64}}$'),
    lines_done  bigint NOT NULL DEFAULT 0 CHECK (lines_done >= 0),
    imported    bigint NOT NULL DEFAULT 0 CHECK (imported >= 0),
    replayed    bigint NOT NULL DEFAULT 0 CHECK (replayed >= 0),
    refused     bigint NOT NULL DEFAULT 0 CHECK (refused >= 0),
    miles       bigint NOT NULL DEFAULT 0 CHECK (miles >= 0),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    UNIQUE (partner, file_digest),
    CHECK (imported + replayed + refused <= lines_done)
);

CREATE TABLE partner_import_refusals (
    import_id   bigint NOT NULL REFERENCES partner_imports (id),
    line_no     bigint NOT NULL CHECK (line_no > 0),
    activity_id text,
    field       text,
    code        text NOT NULL,
    reason      text NOT NULL,
    PRIMARY KEY (import_id, line_no)
);

ALTER TABLE api_keys ADD COLUMN partner text CHECK (partner ~ {PARTNER});
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    scopes <@ ARRAY['accrual:write', 'member:read', 'member:write', 'redemption:write', 'adjustment:write',
                    'promotion:write', 'partner:write', 'admin']::text[] AND cardinality(scopes) > 0);

ALTER TABLE agents DROP CONSTRAINT agents_role_check;
ALTER TABLE agents ADD CONSTRAINT agents_role_check
    CHECK (role IN ('agent', 'supervisor', 'manager', 'finance'));

INSERT INTO accounts (code, shard, allow_negative)
SELECT 'accrual-partner', s, true FROM generate_series(0, {SHARDS - 1}) s ORDER BY s;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    raise NotImplementedError("partner transfers are in the ledger: they cannot be taken out of it")
