"""Promotions as data: campaigns, their members' use and challenge progress, and every bonus awarded.

- `promotions`: one row per campaign, as the API gives it (the audience, conditions, effect, limits and
  challenge as JSON), its budget and what is spent of it (`budget_spent`, moved in the statement that
  spends it; a CHECK keeps it within the budget whatever the code does), and `ended_at` when it was
  ended early.
- `promotion_members`: a member's registration, the promotion miles and bonuses they got (their
  per-member limits) and their challenge count (segments, and runs completed).
- `promotion_segments`: the challenges an accrual counted in, so that its reversal takes them back.
- `promotion_awards`: every bonus, linked to its promotion, its member, its transfer (none for a
  qualifying-metric bonus) and the accrual that earned it, or the birthday year it was granted for
  (once per member and year: a unique key). A reversal is a row of its own, never an edit.
- API keys may carry the scope `promotion:write`; console users may be `manager`s (the loyalty team).
- The `promotion` programme account (64 shards, as the others): the source of promotion miles.
- `transfers.promotion_id`: a `promotion_bonus` transfer names its promotion.
- The rules file's route bonuses (format 1 and 2 `promotions` lists) become rows, from the stored
  programme documents: a percent bonus and a fixed bonus each become a promotion of their own.

Expand-only: no existing column changes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SHARDS = 64

UPGRADE = f"""
CREATE TABLE promotions (
    id                    bigserial PRIMARY KEY,
    code                  text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{{0,39}}$'),
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    trigger               text NOT NULL CHECK (trigger IN ('flight', 'challenge', 'birthday', 'enrolment')),
    starts_on             date NOT NULL,
    ends_on               date NOT NULL,
    registration_required boolean NOT NULL DEFAULT false,
    audience              jsonb NOT NULL DEFAULT '{{}}',
    conditions            jsonb NOT NULL DEFAULT '{{}}',
    effect                jsonb NOT NULL,
    limits                jsonb NOT NULL DEFAULT '{{}}',
    challenge             jsonb,
    stacking_group        text CHECK (length(stacking_group) BETWEEN 1 AND 40),
    budget_miles          bigint CHECK (budget_miles > 0),
    budget_spent          bigint NOT NULL DEFAULT 0
                          CHECK (budget_spent >= 0 AND (budget_miles IS NULL OR budget_spent <= budget_miles)),
    request_digest        text NOT NULL,
    created_by            text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    ended_at              timestamptz,
    CHECK (ends_on >= starts_on),
    CHECK ((trigger = 'challenge') = (challenge IS NOT NULL))
);
CREATE INDEX promotions_live_idx ON promotions (ends_on) WHERE ended_at IS NULL;

CREATE TABLE promotion_members (
    promotion_id  bigint NOT NULL REFERENCES promotions (id),
    member_id     bigint NOT NULL REFERENCES members (id),
    registered_on date,
    miles         bigint NOT NULL DEFAULT 0 CHECK (miles >= 0),
    times         integer NOT NULL DEFAULT 0 CHECK (times >= 0),
    segments      integer NOT NULL DEFAULT 0 CHECK (segments >= 0),
    runs          integer NOT NULL DEFAULT 0 CHECK (runs >= 0),
    PRIMARY KEY (member_id, promotion_id)
);
CREATE INDEX promotion_members_promotion_idx ON promotion_members (promotion_id);

ALTER TABLE transfers ADD COLUMN promotion_id bigint REFERENCES promotions (id);

-- the challenges each accrual counted in (and whether it completed a run): a reversal takes them back
CREATE TABLE promotion_segments (
    promotion_id bigint NOT NULL REFERENCES promotions (id),
    accrual_id   bigint NOT NULL REFERENCES accruals (id),
    member_id    bigint NOT NULL REFERENCES members (id),
    completed    boolean NOT NULL,
    PRIMARY KEY (accrual_id, promotion_id)
);

CREATE TABLE promotion_awards (
    id                bigserial PRIMARY KEY,
    promotion_id      bigint NOT NULL REFERENCES promotions (id),
    member_id         bigint NOT NULL REFERENCES members (id),
    transfer_id       bigint REFERENCES transfers (id),
    accrual_id        bigint REFERENCES accruals (id),
    birthday_year     smallint,
    miles             bigint NOT NULL,
    metric            text,
    amount            numeric(16, 2),
    reverses_award_id bigint REFERENCES promotion_awards (id),
    event_at          timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (CASE WHEN reverses_award_id IS NULL THEN miles >= 0 ELSE miles <= 0 END),
    CHECK ((metric IS NULL) = (amount IS NULL)),
    CHECK (accrual_id IS NOT NULL OR birthday_year IS NOT NULL)
);
-- partial indexes (an award row pays for few): each bonus once per accrual (and, in accrual order, the
-- replays' and reversals' lookup), once per birthday, a transfer and an award reversed once
CREATE UNIQUE INDEX promotion_awards_accrual_key ON promotion_awards (accrual_id, promotion_id)
    WHERE reverses_award_id IS NULL AND accrual_id IS NOT NULL;
CREATE UNIQUE INDEX promotion_awards_transfer_key ON promotion_awards (transfer_id) WHERE transfer_id IS NOT NULL;
CREATE UNIQUE INDEX promotion_awards_reverses_key ON promotion_awards (reverses_award_id)
    WHERE reverses_award_id IS NOT NULL;
CREATE UNIQUE INDEX promotion_awards_birthday_key ON promotion_awards (promotion_id, member_id, birthday_year)
    WHERE reverses_award_id IS NULL AND birthday_year IS NOT NULL;
CREATE INDEX promotion_awards_promotion_idx ON promotion_awards (promotion_id, event_at);
CREATE TRIGGER promotion_awards_append_only BEFORE UPDATE OR DELETE ON promotion_awards
    FOR EACH ROW EXECUTE FUNCTION miles_forbid_change();

-- the loyalty team's managers sign in to the console to run campaigns
ALTER TABLE agents DROP CONSTRAINT agents_role_check;
ALTER TABLE agents ADD CONSTRAINT agents_role_check CHECK (role IN ('agent', 'supervisor', 'manager'));

-- the scope that creates and ends campaigns
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check CHECK (
    scopes <@ ARRAY['accrual:write', 'member:read', 'member:write', 'redemption:write', 'adjustment:write',
                    'promotion:write', 'admin']::text[] AND cardinality(scopes) > 0);

INSERT INTO accounts (code, shard, allow_negative)
SELECT 'promotion', s, true FROM generate_series(0, {SHARDS - 1}) s ORDER BY s;

-- the rules file's route bonuses, from the latest stored document of the programme
WITH doc AS (
    SELECT DISTINCT ON (programme) document FROM programme_versions ORDER BY programme, id DESC
), old AS (
    SELECT DISTINCT ON (p->>'code', kind) p, kind
    FROM doc, jsonb_array_elements(doc.document->'versions') v,
         jsonb_array_elements(coalesce(v->'promotions', '[]')) p,
         (VALUES ('percent'), ('fixed')) k(kind)
    WHERE (kind = 'percent' AND coalesce((p->>'bonus_percent')::int, 0) > 0)
       OR (kind = 'fixed' AND coalesce((p->>'fixed_miles')::int, 0) > 0)
)
INSERT INTO promotions (code, name, trigger, starts_on, ends_on, conditions, effect, request_digest, created_by)
SELECT upper(left(regexp_replace(p->>'code', '[^A-Za-z0-9_-]', '-', 'g'), 34))
           || CASE WHEN kind = 'fixed' THEN '-FIXED' ELSE '' END,
       'Route bonus ' || (p->>'code') || ' (from the rules file)', 'flight',
       (p->>'from_date')::date, (p->>'to_date')::date,
       jsonb_build_object('carriers', p->'carriers', 'origins', coalesce(p->'origins', '[]'),
                          'destinations', coalesce(p->'destinations', '[]')),
       CASE WHEN kind = 'percent' THEN jsonb_build_object('kind', 'percent', 'value', p->>'bonus_percent')
            ELSE jsonb_build_object('kind', 'fixed', 'miles', (p->>'fixed_miles')::int) END,
       'migrated', 'migration 0013'
FROM old ORDER BY 1;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    raise NotImplementedError("promotion transfers are in the ledger: they cannot be taken out of it")
