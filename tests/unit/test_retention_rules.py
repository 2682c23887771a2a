"""The retention reports' rules: the cause of a loss is the latest event within 12 months (on one day a
complaint, then a downgrade, then an expiry), shares to four places, month ranges in order and bounded."""

from __future__ import annotations

from datetime import date

import pytest

from miles.domain.errors import InvalidInput
from miles.domain.retention import Cause, Event, cause_of_loss, month_range, share

LOST_ON = date(2027, 8, 31)


def test_the_latest_event_within_twelve_months_is_the_cause() -> None:
    events = [Event(Cause.DOWNGRADE, date(2027, 3, 1)), Event(Cause.EXPIRY, date(2027, 6, 1))]
    assert cause_of_loss(events, LOST_ON) is Cause.EXPIRY


def test_on_one_day_a_complaint_outranks_a_downgrade_which_outranks_an_expiry() -> None:
    day = date(2027, 5, 5)
    assert cause_of_loss([Event(Cause.EXPIRY, day), Event(Cause.DOWNGRADE, day)], LOST_ON) is Cause.DOWNGRADE
    assert (
        cause_of_loss(
            [Event(Cause.EXPIRY, day), Event(Cause.COMPLAINT, day), Event(Cause.DOWNGRADE, day)], LOST_ON
        )
        is Cause.COMPLAINT
    )


def test_events_older_than_twelve_months_or_after_the_loss_are_not_causes() -> None:
    assert cause_of_loss([Event(Cause.COMPLAINT, date(2026, 8, 30))], LOST_ON) is Cause.NONE
    assert cause_of_loss([Event(Cause.COMPLAINT, date(2026, 8, 31))], LOST_ON) is Cause.COMPLAINT
    assert cause_of_loss([Event(Cause.COMPLAINT, date(2027, 9, 1))], LOST_ON) is Cause.NONE
    assert cause_of_loss([], LOST_ON) is Cause.NONE


def test_a_share_is_four_places_half_up_and_none_of_nothing() -> None:
    assert str(share(5, 7)) == "0.7143"
    assert str(share(1, 8)) == "0.1250"
    assert share(0, 0) is None
    with pytest.raises(InvalidInput):
        share(3, 2)


def test_a_month_range_is_in_order_and_at_most_five_years() -> None:
    assert month_range(date(2026, 11, 1), date(2027, 1, 1)) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    with pytest.raises(InvalidInput) as reversed_range:
        month_range(date(2026, 11, 1), date(2026, 10, 1))
    assert reversed_range.value.code == "reversed_range"
    with pytest.raises(InvalidInput) as too_long:
        month_range(date(2020, 1, 1), date(2025, 1, 1))
    assert too_long.value.code == "range_too_long"
