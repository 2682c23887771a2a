"""The accrual's fields are declared once per shape and the others follow from them: a field renamed or
added in one place and not the others fails here, not in a request."""

from __future__ import annotations

from dataclasses import fields

from miles.adapters.db import accrual_writes
from miles.adapters.db.accrual_writes import ACCRUAL_COLUMNS, NewAccrual
from miles.adapters.db.accruals import AccrualRecord
from miles.domain.accrual import FlightCoupon, FlightEarning
from miles.services.ledger_views import EARNED_FIELDS, AccrualView


def names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def test_the_earned_figures_of_a_view_are_fields_of_an_earning_and_of_a_stored_accrual() -> None:
    assert EARNED_FIELDS
    assert set(EARNED_FIELDS) <= names(FlightEarning) & names(AccrualRecord)
    assert set(EARNED_FIELDS) < names(AccrualView)


def test_the_statement_writes_every_field_of_a_new_accrual_with_a_type() -> None:
    assert [name for name, _ in accrual_writes._COLUMNS] == [f.name for f in fields(NewAccrual)]


def test_a_stored_accrual_reads_back_what_was_written_and_the_coupon_is_written_whole() -> None:
    written = set(ACCRUAL_COLUMNS)
    derived = {"id", "member_number", "departure_year", "created_at"}  # made by the database or a join
    assert names(AccrualRecord) - derived <= written
    assert names(FlightCoupon) - {"member_number"} <= written
