"""Award redemptions: holds, redemptions, supplier bookings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

- `redemptions` (+ `redemption_items`, append-only `redemption_history`): one award request and its saga
  state; a trigger allows only PENDING -> CONFIRMED | FAILED and CONFIRMED -> CANCELLED. `next_attempt_at`
  is when the sweeper next pushes a saga that has not finished: a PENDING booking, a cancellation begun
  (`cancel_requested_at`) or a failed one whose supplier bookings are not released yet (`released_at`).
- `holds`: the pending side of the two-phase ledger; `accounts.pending` is the sum of a member's OPEN
  holds. A hold closes once (POSTED, VOIDED or EXPIRED), enforced by a trigger.
- `transfers.redemption_id`: the redemption a transfer belongs to (award, refund, fee).
- `lot_refunds` (append-only): miles a cancellation gave back to the lots a debit drew from; each row
  names the draw it undoes, so `lots.remaining = amount - draws + refunds` and a draw is never refunded
  beyond what it took.
- `sim_supplier_settings`, `sim_supplier_bookings`: the simulated suppliers' own tables.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATUSES = "('PENDING','CONFIRMED','FAILED','CANCELLED')"
SUPPLIERS = "('flights','hotels','baggage')"

SCHEMA = f"""
CREATE TABLE redemptions (
    id                  bigserial PRIMARY KEY,
    member_id           bigint NOT NULL REFERENCES members (id),
    status              text NOT NULL DEFAULT 'PENDING' CHECK (status IN {STATUSES}),
    miles               bigint NOT NULL CHECK (miles > 0),
    first_service_date  date NOT NULL,
    failure_reason      text,
    refunded_miles      bigint CHECK (refunded_miles >= 0),
    fee_miles           bigint CHECK (fee_miles >= 0),
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     timestamptz NOT NULL,
    cancel_requested_at timestamptz,
    released_at         timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CHECK ((status = 'CANCELLED') = (refunded_miles IS NOT NULL AND fee_miles IS NOT NULL)),
    CHECK (status <> 'FAILED' OR failure_reason IS NOT NULL)
);
CREATE INDEX redemptions_member_idx ON redemptions (member_id, id);
CREATE INDEX redemptions_pending_idx ON redemptions (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX redemptions_cancelling_idx ON redemptions (next_attempt_at)
    WHERE status = 'CONFIRMED' AND cancel_requested_at IS NOT NULL;
CREATE INDEX redemptions_releasing_idx ON redemptions (next_attempt_at)
    WHERE status = 'FAILED' AND released_at IS NULL;

CREATE TABLE redemption_items (
    redemption_id     bigint NOT NULL REFERENCES redemptions (id),
    n                 smallint NOT NULL CHECK (n BETWEEN 1 AND 10),
    kind              text NOT NULL CHECK (kind IN ('flight', 'baggage', 'hotel')),
    miles             bigint NOT NULL CHECK (miles > 0),
    fare              text CHECK (fare IN ('saver', 'standard')),
    service_date      date NOT NULL,
    detail            jsonb NOT NULL,
    booking_reference text,
    PRIMARY KEY (redemption_id, n),
    CHECK ((kind = 'flight') = (fare IS NOT NULL))
);

CREATE TABLE redemption_history (
    id            bigserial PRIMARY KEY,
    redemption_id bigint NOT NULL REFERENCES redemptions (id),
    status        text NOT NULL CHECK (status IN {STATUSES}),
    reason        text,
    at            timestamptz NOT NULL
);
CREATE INDEX redemption_history_idx ON redemption_history (redemption_id, id);

CREATE TABLE holds (
    id            bigserial PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts (id),
    redemption_id bigint NOT NULL UNIQUE REFERENCES redemptions (id),
    amount        bigint NOT NULL CHECK (amount > 0),
    status        text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'POSTED', 'VOIDED', 'EXPIRED')),
    expires_at    timestamptz NOT NULL,
    transfer_id   bigint UNIQUE REFERENCES transfers (id),
    created_at    timestamptz NOT NULL,
    closed_at     timestamptz,
    CHECK ((status = 'POSTED') = (transfer_id IS NOT NULL)),
    CHECK ((status = 'OPEN') = (closed_at IS NULL))
);
CREATE INDEX holds_open_idx ON holds (account_id) WHERE status = 'OPEN';

ALTER TABLE transfers ADD COLUMN redemption_id bigint REFERENCES redemptions (id);
CREATE INDEX transfers_redemption_idx ON transfers (redemption_id) WHERE redemption_id IS NOT NULL;

CREATE TABLE lot_refunds (
    id               bigserial PRIMARY KEY,
    lot_id           bigint NOT NULL REFERENCES lots (id),
    transfer_id      bigint NOT NULL REFERENCES transfers (id),
    draw_transfer_id bigint NOT NULL,
    amount           bigint NOT NULL CHECK (amount > 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (transfer_id, lot_id),
    FOREIGN KEY (draw_transfer_id, lot_id) REFERENCES lot_draws (transfer_id, lot_id)
);
CREATE INDEX lot_refunds_lot_idx ON lot_refunds (lot_id);

CREATE TABLE sim_supplier_settings (
    supplier             text PRIMARY KEY CHECK (supplier IN {SUPPLIERS}),
    latency_ms           integer NOT NULL DEFAULT 0 CHECK (latency_ms BETWEEN 0 AND 600000),
    failure_rate         double precision NOT NULL DEFAULT 0 CHECK (failure_rate BETWEEN 0 AND 1),
    unknown_outcome_rate double precision NOT NULL DEFAULT 0 CHECK (unknown_outcome_rate BETWEEN 0 AND 1),
    saver_seats          boolean NOT NULL DEFAULT true,
    failure_reason       text NOT NULL DEFAULT 'no availability'
);

CREATE TABLE sim_supplier_bookings (
    supplier     text NOT NULL CHECK (supplier IN {SUPPLIERS}),
    key          text NOT NULL,
    reference    text NOT NULL,
    status       text NOT NULL CHECK (status IN ('BOOKED', 'CANCELLED')),
    fare         text,
    item         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    PRIMARY KEY (supplier, key)
);

CREATE FUNCTION miles_redemption_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.member_id <> OLD.member_id OR NEW.miles <> OLD.miles THEN
        RAISE EXCEPTION 'redemption %: member and miles never change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.status <> OLD.status AND NOT (
        (OLD.status = 'PENDING' AND NEW.status IN ('CONFIRMED', 'FAILED'))
        OR (OLD.status = 'CONFIRMED' AND NEW.status = 'CANCELLED')
    ) THEN
        RAISE EXCEPTION 'redemption % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION miles_hold_closes_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'OPEN' OR NEW.amount <> OLD.amount OR NEW.account_id <> OLD.account_id
       OR NEW.redemption_id <> OLD.redemption_id THEN
        RAISE EXCEPTION 'hold % is % and cannot change', OLD.id, OLD.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER redemptions_transition BEFORE UPDATE ON redemptions
    FOR EACH ROW EXECUTE FUNCTION miles_redemption_transition();
CREATE TRIGGER redemptions_no_delete BEFORE DELETE ON redemptions
    FOR EACH ROW EXECUTE FUNCTION miles_forbid_change();
CREATE TRIGGER holds_close_once BEFORE UPDATE ON holds
    FOR EACH ROW EXECUTE FUNCTION miles_hold_closes_once();
CREATE TRIGGER holds_no_delete BEFORE DELETE ON holds
    FOR EACH ROW EXECUTE FUNCTION miles_forbid_change();
CREATE TRIGGER redemption_history_append_only BEFORE UPDATE OR DELETE ON redemption_history
    FOR EACH ROW EXECUTE FUNCTION miles_forbid_change();
CREATE TRIGGER lot_refunds_append_only BEFORE UPDATE OR DELETE ON lot_refunds
    FOR EACH ROW EXECUTE FUNCTION miles_forbid_change();
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE sim_supplier_bookings;
        DROP TABLE sim_supplier_settings;
        DROP TABLE lot_refunds;
        ALTER TABLE transfers DROP COLUMN redemption_id;
        DROP TABLE holds;
        DROP TABLE redemption_history;
        DROP TABLE redemption_items;
        DROP TABLE redemptions;
        DROP FUNCTION miles_hold_closes_once();
        DROP FUNCTION miles_redemption_transition();
        """
    )
