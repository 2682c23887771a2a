"""The accrual's fields are declared once per shape and the others follow from them: a field renamed or
added in one place and not the others fails here, not in a request."""

from __future__ import annotations

from dataclasses import fields

from miles.adapters.db import accrual_writes
from miles.adapters.db.accrual_writes import ACCRUAL_COLUMNS, NewAccrual
from miles.adapters.db.accruals import AccrualRecord
from miles.domain.accrual import FlightCoupon
from miles.domain.programme.earning import FlightEarning
from miles.domain.programme.model import Programme
from miles.services.ledger_views import AccrualView

# the view's fields that earning does not compute as they are: given by the request or the ledger, or
# read from the earning's credits by metric code
GIVEN = {"accrual_id", "member_number", "balance_after"}
FROM_AWARDS = {"promotions"}  # the promotion awards, by code: promotion_miles is their sum
FROM_CREDITS = {"status_miles", "segments", "qualifying"}


def names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def test_the_earned_figures_of_a_view_are_fields_of_an_earning_and_of_a_stored_accrual(
    programme: Programme,
) -> None:
    earned = names(AccrualView) - GIVEN - FROM_CREDITS - FROM_AWARDS
    assert {"award_miles", "tier_after"} <= earned
    assert earned <= names(FlightEarning) & names(AccrualRecord)
    assert "credits" in names(FlightEarning) & names(AccrualRecord)
    assert {"status_miles", "segments"} <= set(programme.metric_codes)  # the reference's, by code


def test_the_statement_writes_every_field_of_a_new_accrual_with_a_type() -> None:
    # the credits go as an array of their own (one value per metric), every other field as a column
    columns = [f.name for f in fields(NewAccrual) if f.name != "credits"]
    assert [name for name, _ in accrual_writes._COLUMNS] == columns
    assert "credits" in ACCRUAL_COLUMNS


def test_a_stored_accrual_reads_back_what_was_written_and_the_coupon_is_written_whole() -> None:
    written = set(ACCRUAL_COLUMNS)
    derived = {"id", "member_number", "created_at"}  # made by the database or a join
    assert names(AccrualRecord) - derived <= written
    assert names(FlightCoupon) - {"member_number"} <= written
