"""Any airline's programme as data (rules format 2).

- Tiers are the programme's own codes: the CHECKs naming the reference programme's tiers go (members,
  accruals, tier history); a tier code has the shape `[A-Z][A-Z0-9_]{0,23}`, and loading a programme
  that lacks a tier some member holds is refused by `miles programme load`.
- Qualifying metrics are the programme's own: a status credit, a period's totals and an accrual hold
  one value per metric in the programme's metric order (`metrics` / `credits`, numeric(16,2)[]),
  keyed by the qualification period's first day (`period_start`), not by a calendar year. The
  existing rows were written under rules format 1, whose metrics are status miles, segments and spend
  and whose period is the calendar year: they move to [status_miles, segments, spend] of 1 January.
- `members.lifetime_total`: the total of the programme's lifetime metric (was lifetime_status_miles);
  `members.period_start`: the member's current rolling qualification period (set at enrolment).
- `accruals.fare_value`: the fare in the accounting currency (was spend_usd).
- `nightly_runs.expiry_policy` may be `never`.

This migration changes stored shapes in place: it is not expand-only. The release that brings it is
rolled out with the previous release's writers stopped (deploy/README.md, "Releases that change
stored shapes"); a pod of the previous release that still runs fails its writes loudly (the columns
it names are gone), it never writes a wrong row.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CODE = "'^[A-Z][A-Z0-9_]{0,23}$'"
FORMAT1 = "ARRAY[{0}status_miles, {0}segments, {0}spend_usd]::numeric(16,2)[]"

UPGRADE = f"""
-- metrics add up position by position (a shorter array counts 0 where it ends)
CREATE FUNCTION miles_add_metrics(a numeric[], b numeric[]) RETURNS numeric[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{{}}')
    FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;
CREATE AGGREGATE miles_sum_metrics(numeric[]) (SFUNC = miles_add_metrics, STYPE = numeric[], INITCOND = '{{}}');

ALTER TABLE accruals DISABLE TRIGGER accruals_append_only;
ALTER TABLE status_credits DISABLE TRIGGER status_credits_append_only;
ALTER TABLE tier_changes DISABLE TRIGGER tier_changes_append_only;

ALTER TABLE members DROP CONSTRAINT members_tier_check, DROP CONSTRAINT members_lifetime_tier_check,
    DROP CONSTRAINT members_check;
ALTER TABLE members ALTER COLUMN tier DROP DEFAULT, ALTER COLUMN lifetime_tier DROP DEFAULT;
ALTER TABLE members ADD CONSTRAINT members_tier_code CHECK (tier ~ {CODE} AND lifetime_tier ~ {CODE});
ALTER TABLE members RENAME COLUMN lifetime_status_miles TO lifetime_total;
ALTER TABLE members ALTER COLUMN lifetime_total TYPE numeric(18, 2);
ALTER TABLE members RENAME CONSTRAINT members_lifetime_status_miles_check TO members_lifetime_total_check;
ALTER TABLE members ADD COLUMN period_start date;
UPDATE members SET period_start = CAST(created_at AT TIME ZONE 'UTC' AS date);
ALTER TABLE members ALTER COLUMN period_start SET NOT NULL;

ALTER TABLE accruals DROP CONSTRAINT accruals_tier_before_check, DROP CONSTRAINT accruals_tier_after_check;
ALTER TABLE accruals ADD CONSTRAINT accruals_tier_code CHECK (tier_before ~ {CODE} AND tier_after ~ {CODE});
ALTER TABLE accruals ADD COLUMN credits numeric(16, 2)[], ADD COLUMN period_start date;
UPDATE accruals SET credits = {FORMAT1.format("")},
                    period_start = make_date(CAST(extract(year FROM departure_date) AS int), 1, 1);
ALTER TABLE accruals ALTER COLUMN credits SET NOT NULL, ALTER COLUMN period_start SET NOT NULL;
ALTER TABLE accruals ADD CONSTRAINT accruals_credits_check CHECK (0 <= ALL (credits));
ALTER TABLE accruals DROP COLUMN status_miles, DROP COLUMN segments;
ALTER TABLE accruals RENAME COLUMN spend_usd TO fare_value;
ALTER TABLE accruals RENAME CONSTRAINT accruals_spend_usd_check TO accruals_fare_value_check;

ALTER TABLE status_credits ADD COLUMN period_start date, ADD COLUMN metrics numeric(16, 2)[];
UPDATE status_credits SET period_start = make_date(year, 1, 1), metrics = {FORMAT1.format("")};
ALTER TABLE status_credits ALTER COLUMN period_start SET NOT NULL, ALTER COLUMN metrics SET NOT NULL;
DROP INDEX status_credits_member_year_idx;
ALTER TABLE status_credits DROP COLUMN year, DROP COLUMN status_miles, DROP COLUMN segments,
    DROP COLUMN spend_usd;
CREATE INDEX status_credits_member_period_idx ON status_credits (member_id, period_start);

ALTER TABLE qualifying_totals ADD COLUMN period_start date, ADD COLUMN metrics numeric(16, 2)[];
UPDATE qualifying_totals SET period_start = make_date(year, 1, 1), metrics = {FORMAT1.format("")};
ALTER TABLE qualifying_totals DROP CONSTRAINT qualifying_totals_pkey;
ALTER TABLE qualifying_totals DROP COLUMN year, DROP COLUMN status_miles, DROP COLUMN segments,
    DROP COLUMN spend_usd;
ALTER TABLE qualifying_totals ALTER COLUMN period_start SET NOT NULL, ALTER COLUMN metrics SET NOT NULL;
ALTER TABLE qualifying_totals ADD PRIMARY KEY (member_id, period_start);
ALTER TABLE qualifying_totals ADD CONSTRAINT qualifying_totals_metrics_check CHECK (0 <= ALL (metrics));

ALTER TABLE tier_changes DROP CONSTRAINT tier_changes_from_tier_check, DROP CONSTRAINT tier_changes_to_tier_check;
ALTER TABLE nightly_runs DROP CONSTRAINT nightly_runs_expiry_policy_check;
ALTER TABLE nightly_runs ADD CONSTRAINT nightly_runs_expiry_policy_check
    CHECK (expiry_policy IN ('lots', 'inactivity', 'never'));
ALTER TABLE tier_changes ADD CONSTRAINT tier_changes_tier_code CHECK (from_tier ~ {CODE} AND to_tier ~ {CODE});

ALTER TABLE accruals ENABLE TRIGGER accruals_append_only;
ALTER TABLE status_credits ENABLE TRIGGER status_credits_append_only;
ALTER TABLE tier_changes ENABLE TRIGGER tier_changes_append_only;
"""

TIERS = "('BLUE','SILVER','GOLD','PLATINUM')"
DOWNGRADE = f"""
ALTER TABLE accruals DISABLE TRIGGER accruals_append_only;
ALTER TABLE status_credits DISABLE TRIGGER status_credits_append_only;

ALTER TABLE nightly_runs DROP CONSTRAINT nightly_runs_expiry_policy_check;
ALTER TABLE nightly_runs ADD CONSTRAINT nightly_runs_expiry_policy_check CHECK (expiry_policy IN ('lots', 'inactivity'));
ALTER TABLE tier_changes DROP CONSTRAINT tier_changes_tier_code;
ALTER TABLE tier_changes ADD CONSTRAINT tier_changes_from_tier_check CHECK (from_tier IN {TIERS}),
    ADD CONSTRAINT tier_changes_to_tier_check CHECK (to_tier IN {TIERS});

ALTER TABLE qualifying_totals DROP CONSTRAINT qualifying_totals_pkey,
    DROP CONSTRAINT qualifying_totals_metrics_check;
ALTER TABLE qualifying_totals ADD COLUMN year smallint, ADD COLUMN status_miles bigint NOT NULL DEFAULT 0
    CHECK (status_miles >= 0), ADD COLUMN segments integer NOT NULL DEFAULT 0 CHECK (segments >= 0),
    ADD COLUMN spend_usd numeric(16, 2) NOT NULL DEFAULT 0 CHECK (spend_usd >= 0);
UPDATE qualifying_totals SET year = extract(year FROM period_start), status_miles = coalesce(metrics[1], 0),
    segments = coalesce(metrics[2], 0), spend_usd = coalesce(metrics[3], 0);
ALTER TABLE qualifying_totals DROP COLUMN period_start, DROP COLUMN metrics;
ALTER TABLE qualifying_totals ALTER COLUMN year SET NOT NULL, ADD PRIMARY KEY (member_id, year);

DROP INDEX status_credits_member_period_idx;
ALTER TABLE status_credits ADD COLUMN year smallint, ADD COLUMN status_miles integer,
    ADD COLUMN segments smallint, ADD COLUMN spend_usd numeric(14, 2);
UPDATE status_credits SET year = extract(year FROM period_start), status_miles = coalesce(metrics[1], 0),
    segments = coalesce(metrics[2], 0), spend_usd = coalesce(metrics[3], 0);
ALTER TABLE status_credits DROP COLUMN period_start, DROP COLUMN metrics;
ALTER TABLE status_credits ALTER COLUMN year SET NOT NULL, ALTER COLUMN status_miles SET NOT NULL,
    ALTER COLUMN segments SET NOT NULL, ALTER COLUMN spend_usd SET NOT NULL;
CREATE INDEX status_credits_member_year_idx ON status_credits (member_id, year);

ALTER TABLE accruals RENAME CONSTRAINT accruals_fare_value_check TO accruals_spend_usd_check;
ALTER TABLE accruals RENAME COLUMN fare_value TO spend_usd;
ALTER TABLE accruals ADD COLUMN status_miles integer, ADD COLUMN segments smallint;
UPDATE accruals SET status_miles = coalesce(credits[1], 0), segments = coalesce(credits[2], 0);
ALTER TABLE accruals ALTER COLUMN status_miles SET NOT NULL, ALTER COLUMN segments SET NOT NULL;
ALTER TABLE accruals ADD CONSTRAINT accruals_status_miles_check CHECK (status_miles >= 0),
    ADD CONSTRAINT accruals_segments_check CHECK (segments IN (0, 1));
ALTER TABLE accruals DROP COLUMN credits, DROP COLUMN period_start;
ALTER TABLE accruals DROP CONSTRAINT accruals_tier_code;
ALTER TABLE accruals ADD CONSTRAINT accruals_tier_before_check CHECK (tier_before IN {TIERS}),
    ADD CONSTRAINT accruals_tier_after_check CHECK (tier_after IN {TIERS});

ALTER TABLE members DROP COLUMN period_start;
ALTER TABLE members RENAME CONSTRAINT members_lifetime_total_check TO members_lifetime_status_miles_check;
ALTER TABLE members ALTER COLUMN lifetime_total TYPE bigint;
ALTER TABLE members RENAME COLUMN lifetime_total TO lifetime_status_miles;
ALTER TABLE members DROP CONSTRAINT members_tier_code;
ALTER TABLE members ALTER COLUMN tier SET DEFAULT 'BLUE', ALTER COLUMN lifetime_tier SET DEFAULT 'BLUE';
ALTER TABLE members ADD CONSTRAINT members_tier_check CHECK (tier IN {TIERS}),
    ADD CONSTRAINT members_lifetime_tier_check CHECK (lifetime_tier IN {TIERS}),
    ADD CONSTRAINT members_check CHECK (tier <> 'BLUE' OR tier_valid_until IS NULL);

ALTER TABLE accruals ENABLE TRIGGER accruals_append_only;
ALTER TABLE status_credits ENABLE TRIGGER status_credits_append_only;
DROP AGGREGATE miles_sum_metrics(numeric[]);
DROP FUNCTION miles_add_metrics(numeric[], numeric[]);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
