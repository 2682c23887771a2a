"""The tier each period's totals reach, kept beside them, so that the nightly requalification compares
small integers instead of reading every period's metrics out of its array.

- `miles_tier_reached(numeric[])`: the rank in the programme's ladder that a period's metrics earn (0: the
  base tier), an SQL function whose body holds the programme's thresholds as constants. Made here as a
  placeholder that answers NULL; `miles db upgrade` and `miles programme load` write it for the programme in
  force (miles.adapters.db.tier_reached), and every stored value with it, in one transaction.
- `qualifying_totals.tier_reached`: a stored generated column, that function of the row's metrics, so every
  writer of the totals (accruals, reversals, status credits, restores, the benchmarks' generators) keeps it
  right without knowing it exists.
- `qualifying_totals_reached_idx`: the periods that reach a tier above the base one (a few in a hundred),
  so that the night's planning finds the upgrades without reading every period. A writer adds to it only
  for such a period.

The nightly reads it only while the function's body is the one its programme would write, else it reads
the arrays as before. Expand-only: the table is rewritten to add the column (under an exclusive lock), and
its rows are written again once more by the first `miles db upgrade` that installs the programme's body
(accruals wait meanwhile: on 544,931 periods, 8.7 s for both).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION miles_tier_reached(metrics numeric[]) RETURNS smallint
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CAST(NULL AS smallint) $$;
        ALTER TABLE qualifying_totals
            ADD COLUMN tier_reached smallint GENERATED ALWAYS AS (miles_tier_reached(metrics)) STORED;
        CREATE INDEX qualifying_totals_reached_idx ON qualifying_totals (period_start, member_id)
            INCLUDE (tier_reached) WHERE tier_reached > 0;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX qualifying_totals_reached_idx;
        ALTER TABLE qualifying_totals DROP COLUMN tier_reached;
        DROP FUNCTION miles_tier_reached(numeric[]);
        """
    )
