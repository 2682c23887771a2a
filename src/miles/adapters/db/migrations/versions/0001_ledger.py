"""The ledger: members, accounts, transfers, entries, lots, status credits, accruals, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIERS = "('BLUE','SILVER','GOLD','PLATINUM')"

SCHEMA = f"""
CREATE TABLE programme_versions (
    id          bigserial PRIMARY KEY,
    programme   text NOT NULL,
    digest      text NOT NULL,
    document    jsonb NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE member_number_seq START 100000001 MINVALUE 100000001 MAXVALUE 999999999;

CREATE TABLE members (
    id                    bigserial PRIMARY KEY,
    member_number         text NOT NULL UNIQUE CHECK (member_number ~ '^[0-9]{{10}}$'),
    given_name            text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
    family_name           text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    email                 text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    birth_date            date,
    tier                  text NOT NULL DEFAULT 'BLUE' CHECK (tier IN {TIERS}),
    tier_valid_until      date,
    lifetime_tier         text NOT NULL DEFAULT 'BLUE' CHECK (lifetime_tier IN {TIERS}),
    lifetime_status_miles bigint NOT NULL DEFAULT 0 CHECK (lifetime_status_miles >= 0),
    last_activity_date    date,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (tier <> 'BLUE' OR tier_valid_until IS NULL)
);
CREATE INDEX members_email_idx ON members (lower(email));
CREATE INDEX members_name_idx ON members (lower(family_name), lower(given_name));

CREATE TABLE accounts (
    id              bigserial PRIMARY KEY,
    code            text NOT NULL UNIQUE,
    member_id       bigint UNIQUE REFERENCES members (id),
    balance         bigint NOT NULL DEFAULT 0,
    pending         bigint NOT NULL DEFAULT 0 CHECK (pending >= 0),
    allow_negative  boolean NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (allow_negative OR balance >= 0),
    CHECK ((member_id IS NULL) = (code NOT LIKE 'member:%'))
);

CREATE TABLE accruals (
    id                bigserial PRIMARY KEY,
    member_id         bigint NOT NULL REFERENCES members (id),
    ticket_number     text NOT NULL CHECK (ticket_number ~ '^[0-9]{{13}}$'),
    coupon_number     smallint NOT NULL CHECK (coupon_number BETWEEN 1 AND 4),
    request_digest    text NOT NULL,
    channel           text NOT NULL CHECK (channel IN ('api', 'batch', 'claim')),
    marketing_carrier text NOT NULL,
    operating_carrier text NOT NULL,
    flight_number     text NOT NULL,
    origin            text NOT NULL,
    destination       text NOT NULL CHECK (destination <> origin),
    departure_date    date NOT NULL,
    booking_class     text NOT NULL,
    fare_amount       numeric(14, 2) CHECK (fare_amount >= 0),
    fare_currency     text,
    distance_miles    integer NOT NULL CHECK (distance_miles > 0),
    base_miles        integer NOT NULL CHECK (base_miles >= 0),
    tier_bonus_miles  integer NOT NULL CHECK (tier_bonus_miles >= 0),
    promotion_miles   integer NOT NULL CHECK (promotion_miles >= 0),
    award_miles       integer NOT NULL,
    status_miles      integer NOT NULL CHECK (status_miles >= 0),
    segments          smallint NOT NULL CHECK (segments IN (0, 1)),
    spend_usd         numeric(14, 2) NOT NULL CHECK (spend_usd >= 0),
    tier_before       text NOT NULL CHECK (tier_before IN {TIERS}),
    tier_after        text NOT NULL CHECK (tier_after IN {TIERS}),
    balance_after     bigint NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticket_number, coupon_number),
    CHECK (award_miles = base_miles + tier_bonus_miles + promotion_miles)
);
CREATE INDEX accruals_member_idx ON accruals (member_id);

CREATE TABLE transfers (
    id                   bigserial PRIMARY KEY,
    from_account_id      bigint NOT NULL REFERENCES accounts (id),
    to_account_id        bigint NOT NULL REFERENCES accounts (id),
    amount               bigint NOT NULL CHECK (amount > 0),
    code                 text NOT NULL CHECK (code ~ '^[a-z][a-z_]*$'),
    event_at             timestamptz NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    accrual_id           bigint REFERENCES accruals (id),
    reverses_transfer_id bigint UNIQUE REFERENCES transfers (id),
    memo                 text,
    CHECK (from_account_id <> to_account_id)
);
CREATE INDEX transfers_accrual_idx ON transfers (accrual_id) WHERE accrual_id IS NOT NULL;

CREATE TABLE entries (
    id          bigserial PRIMARY KEY,
    transfer_id bigint NOT NULL REFERENCES transfers (id),
    account_id  bigint NOT NULL REFERENCES accounts (id),
    amount      bigint NOT NULL CHECK (amount <> 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (transfer_id, account_id)
);
CREATE INDEX entries_account_idx ON entries (account_id, transfer_id);

CREATE TABLE lots (
    id            bigserial PRIMARY KEY,
    member_id     bigint NOT NULL REFERENCES members (id),
    transfer_id   bigint NOT NULL UNIQUE REFERENCES transfers (id),
    earned_date   date NOT NULL,
    expires_date  date,
    amount        bigint NOT NULL CHECK (amount > 0),
    remaining     bigint NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lots_open_idx ON lots (member_id, expires_date, id) WHERE remaining > 0;

CREATE TABLE lot_draws (
    id          bigserial PRIMARY KEY,
    lot_id      bigint NOT NULL REFERENCES lots (id),
    transfer_id bigint NOT NULL REFERENCES transfers (id),
    amount      bigint NOT NULL CHECK (amount > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (transfer_id, lot_id)
);
CREATE INDEX lot_draws_lot_idx ON lot_draws (lot_id);

CREATE TABLE status_credits (
    id            bigserial PRIMARY KEY,
    member_id     bigint NOT NULL REFERENCES members (id),
    year          smallint NOT NULL CHECK (year BETWEEN 1950 AND 2200),
    status_miles  integer NOT NULL,
    segments      smallint NOT NULL,
    spend_usd     numeric(14, 2) NOT NULL,
    code          text NOT NULL CHECK (code ~ '^[a-z][a-z_]*$'),
    accrual_id    bigint REFERENCES accruals (id),
    event_at      timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_credits_member_year_idx ON status_credits (member_id, year);

CREATE TABLE qualifying_totals (
    member_id     bigint NOT NULL REFERENCES members (id),
    year          smallint NOT NULL,
    status_miles  bigint NOT NULL DEFAULT 0 CHECK (status_miles >= 0),
    segments      integer NOT NULL DEFAULT 0 CHECK (segments >= 0),
    spend_usd     numeric(16, 2) NOT NULL DEFAULT 0 CHECK (spend_usd >= 0),
    PRIMARY KEY (member_id, year)
);

CREATE TABLE accrual_reversals (
    id             bigserial PRIMARY KEY,
    accrual_id     bigint NOT NULL UNIQUE REFERENCES accruals (id),
    reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    request_digest text NOT NULL,
    reversed_miles bigint NOT NULL CHECK (reversed_miles >= 0),
    balance_after  bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tier_changes (
    id          bigserial PRIMARY KEY,
    member_id   bigint NOT NULL REFERENCES members (id),
    from_tier   text NOT NULL CHECK (from_tier IN {TIERS}),
    to_tier     text NOT NULL CHECK (to_tier IN {TIERS}),
    valid_until date,
    reason      text NOT NULL,
    accrual_id  bigint REFERENCES accruals (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tier_changes_member_idx ON tier_changes (member_id, id);

CREATE TABLE api_keys (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    key_prefix  text NOT NULL UNIQUE,
    key_hash    text NOT NULL,
    scopes      text[] NOT NULL CHECK (scopes <@ ARRAY['accrual:write','member:read','member:write',
                    'redemption:write','adjustment:write','admin']::text[] AND cardinality(scopes) > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE idempotency_keys (
    scope          text NOT NULL,
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_digest text NOT NULL,
    status_code    smallint NOT NULL,
    response       jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

CREATE FUNCTION miles_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the % table is append-only: corrections are new rows', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
"""

APPEND_ONLY = [
    "transfers",
    "entries",
    "status_credits",
    "accruals",
    "accrual_reversals",
    "tier_changes",
    "lot_draws",
]

PROGRAMME_ACCOUNTS = [
    # code, may go negative (a source of miles) or not (a sink that only ever receives)
    ("accrual-flight", True),
    ("goodwill", True),
    ("redemption-clearing", False),
    ("expired", False),
]


def upgrade() -> None:
    op.execute(SCHEMA)
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION miles_forbid_change()"
        )
    for code, negative in PROGRAMME_ACCOUNTS:
        op.execute(f"INSERT INTO accounts (code, allow_negative) VALUES ('{code}', {negative})")


def downgrade() -> None:
    for table in [
        "idempotency_keys",
        "api_keys",
        "tier_changes",
        "accrual_reversals",
        "qualifying_totals",
        "status_credits",
        "lot_draws",
        "lots",
        "entries",
        "transfers",
        "accruals",
        "accounts",
        "members",
        "programme_versions",
    ]:
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP SEQUENCE member_number_seq")
    op.execute("DROP FUNCTION miles_forbid_change()")
