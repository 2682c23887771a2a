"""Bounded credits in the domain: the fare ceiling, the accrual window, the departure airport's date,
lots never born expired, the per-member daily goodwill limit, the awards' booking horizon."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from miles.domain.accrual import validate_coupon
from miles.domain.awards import FlightAward, HotelAward, validate_items
from miles.domain.errors import InvalidInput, ProgrammeError
from miles.domain.goodwill import needs_approval
from miles.domain.lots import check_not_born_expired
from miles.domain.validation import check_text
from miles.programme.reading import read_text

# the reference programme in rules format 1: format-1 files are still read (as format 2), with format-1 paths
FORMAT1 = Path(__file__).parent / "programme" / "aurora-format1.yaml"


def zz(make_coupon, amount: str, currency: str = "USD"):  # type: ignore[no-untyped-def]
    return make_coupon(marketing_carrier="ZZ", fare_amount=Decimal(amount), fare_currency=currency)


def test_the_reference_programme_sets_every_bound_in_its_rules_file(programme) -> None:
    assert (programme.fare_ceiling, programme.currency) == (Decimal("50000"), "USD")
    assert programme.goodwill_member_daily_limit == 10_000
    assert programme.claim_approval_above == programme.goodwill_agent_limit == 5000
    assert programme.awards.booking_horizon_days == 355


def test_a_rules_file_without_the_bounds_gets_the_documented_defaults() -> None:
    text = FORMAT1.read_text(encoding="utf-8")
    for line in ("    goodwill_member_daily_limit:", "    fare_ceiling_usd:", "      booking_horizon_days:"):
        text = "\n".join(x for x in text.splitlines() if not x.startswith(line))
    version = read_text(text).versions[0]
    assert version.fare_ceiling == Decimal("50000")
    assert version.goodwill_member_daily_limit == 10_000
    assert version.awards.booking_horizon_days == 355


def test_a_fare_at_the_ceiling_earns_and_a_cent_above_is_refused(programme, make_coupon, today) -> None:
    assert validate_coupon(programme, zz(make_coupon, "50000.00"), today).code == "ZZ"
    with pytest.raises(InvalidInput) as refused:
        validate_coupon(programme, zz(make_coupon, "50000.01"), today)
    assert (refused.value.code, refused.value.field) == ("fare_above_ceiling", "fare.amount")
    assert "50,000 USD" in refused.value.message


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("999999999999.99", "USD"), ("400000000", "USD"), ("46000", "GBP"), ("1E+999999", "USD")],
)
def test_a_fare_above_the_ceiling_in_any_currency_is_a_field_error(
    programme, make_coupon, today, amount: str, currency: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_coupon(programme, zz(make_coupon, amount, currency), today)
    assert refused.value.code == "fare_above_ceiling"


@pytest.mark.parametrize(
    "departure", [date(1, 1, 1), date(1949, 12, 31), date(1969, 7, 20), date(2000, 1, 1)]
)
def test_a_coupon_older_than_the_accrual_window_is_coupon_too_old(
    programme, make_coupon, today, departure: date
) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_coupon(programme, make_coupon(departure_date=departure), today)
    assert (refused.value.code, refused.value.field) == ("coupon_too_old", "departure_date")


def test_no_window_in_a_rules_file_lets_a_departure_before_1950_through(programme, make_coupon) -> None:
    wide = replace(programme, claim_max_months=12 * 200)
    validate_coupon(wide, make_coupon(departure_date=date(1950, 1, 1)), date(2026, 11, 23))
    with pytest.raises(InvalidInput) as refused:
        validate_coupon(wide, make_coupon(departure_date=date(1949, 12, 31)), date(2026, 11, 23))
    assert refused.value.code == "coupon_too_old"


def test_the_accrual_window_is_the_claims_window_inclusive(programme, make_coupon) -> None:
    departed = date(2026, 5, 23)
    validate_coupon(programme, make_coupon(departure_date=departed), date(2026, 11, 23))
    with pytest.raises(InvalidInput) as refused:
        validate_coupon(programme, make_coupon(departure_date=departed), date(2026, 11, 24))
    assert refused.value.code == "coupon_too_old"


def test_a_flight_leaving_auckland_on_its_local_today_has_flown_while_utc_is_on_yesterday(
    programme, make_coupon
) -> None:
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 09:00 on 24 November in Auckland
    akl = make_coupon(origin="AKL", destination="SYD", departure_date=date(2026, 11, 24))
    assert validate_coupon(programme, akl, now.date(), now).code == "YY"
    with pytest.raises(InvalidInput):  # without the instant, the programme's date decides
        validate_coupon(programme, akl, now.date())


def test_a_flight_leaving_honolulu_on_utc_today_is_still_in_the_future_there(programme, make_coupon) -> None:
    now = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 19:00 on 23 November in Honolulu
    hnl = make_coupon(origin="HNL", destination="LAX", departure_date=date(2026, 11, 24))
    with pytest.raises(InvalidInput) as refused:
        validate_coupon(programme, hnl, now.date(), now)
    assert refused.value.field == "departure_date"


def test_no_lot_is_opened_past_its_expiry() -> None:
    check_not_born_expired(date(2026, 11, 30), date(2026, 11, 30))
    check_not_born_expired(None, date(2026, 11, 30))
    with pytest.raises(InvalidInput) as refused:
        check_not_born_expired(date(2026, 11, 30), date(2026, 12, 1))
    assert refused.value.code == "coupon_too_old"


def test_goodwill_past_the_members_daily_limit_waits_even_under_the_agent_limit(programme) -> None:
    assert not needs_approval(5000, programme, granted_today=5000)
    assert needs_approval(5000, programme, granted_today=5001)
    assert needs_approval(1, programme, granted_today=10_000)
    assert needs_approval(5001, programme, granted_today=0)


def test_an_award_beyond_the_booking_horizon_names_the_items_date_field(programme, today) -> None:
    last = today + timedelta(days=355)
    validate_items(programme.awards, [FlightAward("JFK", "LHR", last, "economy")], today)
    for item, field in (
        (FlightAward("JFK", "LHR", last + timedelta(days=1), "economy"), "items[1].departure_date"),
        (HotelAward("LON", 1, date(9999, 12, 31), 1), "items[1].check_in_date"),
    ):
        ok = FlightAward("JFK", "LHR", today, "economy")
        with pytest.raises(InvalidInput) as refused:
            validate_items(programme.awards, [ok, item], today)
        assert (refused.value.code, refused.value.field) == ("beyond_booking_horizon", field)


def test_a_shorter_booking_horizon_in_the_rules_file_is_honoured(programme, today) -> None:
    rules = replace(programme.awards, booking_horizon_days=30)
    with pytest.raises(InvalidInput) as refused:
        validate_items(rules, [FlightAward("JFK", "LHR", today + timedelta(days=31), "economy")], today)
    assert refused.value.code == "beyond_booking_horizon"


@pytest.mark.parametrize("bad", ["a\x00b", "\x1b[31m", "x\ud800", "tab\there"])
def test_text_with_control_characters_is_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_text(bad, "comment")
    assert (refused.value.code, refused.value.field) == ("invalid_text", "comment")


def test_a_multiline_comment_keeps_its_line_breaks_but_not_a_nul() -> None:
    assert check_text("line one\r\nline two\ttabbed", "comment", multiline=True)
    with pytest.raises(InvalidInput):
        check_text("line\x00", "comment", multiline=True)


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("      booking_horizon_days:", "      booking_horizon_days: 100000"),
        ("      booking_horizon_days:", "      booking_horizon_days: 0"),
        ("    fare_ceiling_usd:", '    fare_ceiling_usd: "0"'),
        ("    claims:", "    claims: {min_days: 7, max_months: 100000}"),
    ],
)
def test_a_bound_a_date_or_a_column_cannot_hold_is_refused_by_the_loader(line: str, bad: str) -> None:
    text = "\n".join(
        bad if x.startswith(line) else x for x in FORMAT1.read_text(encoding="utf-8").splitlines()
    )
    with pytest.raises(ProgrammeError):
        read_text(text)
