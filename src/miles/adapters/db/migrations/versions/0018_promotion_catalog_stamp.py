"""The campaigns' stamp: one row that moves whenever the campaigns do, so that an accrual knows in one
indexed read whether the campaigns it holds decoded are still the live ones.

- `promotion_catalog`: a single row (`version`, `changed_at`), moved by statement triggers on `promotions`
  for every INSERT, DELETE and TRUNCATE and every UPDATE of a column but `budget_spent` (a bonus spending a
  budget does not move it; a campaign created, changed or ended does). `changed_at` (the clock at the move)
  tells apart two databases of the same name whose versions happen to match.

Before, every accrual aggregated the whole `promotions` table (its count, last id, last creation and last
end): a read that grew with the campaigns' history. Expand-only: no existing column changes.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# every column of promotions but budget_spent (spent by bonuses, read from its row, never from the cache)
_EDITED = (
    "code, name, trigger, starts_on, ends_on, registration_required, audience, conditions, effect, limits, "
    "challenge, stacking_group, budget_miles, request_digest, created_by, created_at, ended_at"
)


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE promotion_catalog (
            one        boolean PRIMARY KEY DEFAULT true CHECK (one),
            version    bigint NOT NULL CHECK (version >= 1),
            changed_at timestamptz NOT NULL
        );
        INSERT INTO promotion_catalog (one, version, changed_at) VALUES (true, 1, clock_timestamp());

        CREATE FUNCTION promotion_catalog_moved() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- the row is made again if it went (a TRUNCATE of every table: after-triggers run once all are
            -- emptied)
            INSERT INTO promotion_catalog AS c (one, version, changed_at) VALUES (true, 1, clock_timestamp())
            ON CONFLICT (one) DO UPDATE SET version = c.version + 1, changed_at = clock_timestamp();
            RETURN NULL;
        END
        $$;
        CREATE TRIGGER promotions_catalog_rows AFTER INSERT OR DELETE OR TRUNCATE ON promotions
            FOR EACH STATEMENT EXECUTE FUNCTION promotion_catalog_moved();
        CREATE TRIGGER promotions_catalog_edits AFTER UPDATE OF {_EDITED} ON promotions
            FOR EACH STATEMENT EXECUTE FUNCTION promotion_catalog_moved();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER promotions_catalog_edits ON promotions;
        DROP TRIGGER promotions_catalog_rows ON promotions;
        DROP FUNCTION promotion_catalog_moved();
        DROP TABLE promotion_catalog;
        """
    )
