"""Throttling sign-in tries: per name from one address and per address, in fixed windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from miles.domain.throttle import (
    Refusal,
    ThrottlePolicy,
    address_key,
    name_key,
    refusal,
    retry_after,
    wait_in_words,
    window_start,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(max_failures_per_account=5, max_failures_per_address=20, window=timedelta(minutes=15))


def test_the_fifth_try_for_a_name_is_checked_and_the_sixth_refused() -> None:
    assert refusal(5, 5, POLICY) is None
    assert refusal(6, None, POLICY) is Refusal.NAME


def test_the_twenty_first_try_from_an_address_is_refused_whatever_the_name() -> None:
    assert refusal(1, 20, POLICY) is None
    assert refusal(1, 21, POLICY) is Refusal.ADDRESS


def test_windows_are_fixed_and_aligned() -> None:
    assert window_start(NOW + timedelta(minutes=14, seconds=59), POLICY.window) == NOW
    assert window_start(NOW + timedelta(minutes=15), POLICY.window) == NOW + timedelta(minutes=15)
    assert window_start(NOW - timedelta(seconds=1), POLICY.window) == NOW - timedelta(minutes=15)


def test_the_wait_lasts_until_the_window_ends() -> None:
    assert retry_after(NOW, POLICY.window) == timedelta(minutes=15)
    assert retry_after(NOW + timedelta(minutes=10), POLICY.window) == timedelta(minutes=5)
    assert retry_after(NOW + timedelta(minutes=15) - timedelta(microseconds=1), POLICY.window) == timedelta(
        seconds=1
    )


def test_windows_of_a_pinned_clock_in_another_zone_are_the_same_instants() -> None:
    later = datetime(2026, 11, 24, 1, 7, tzinfo=UTC)
    in_auckland = later.astimezone(ZoneInfo("Pacific/Auckland"))
    assert window_start(in_auckland, POLICY.window) == window_start(later, POLICY.window)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("testclient", "testclient"),
        ("", "unknown"),
    ],
)
def test_an_ipv6_caller_is_counted_by_its_network(address: str, key: str) -> None:
    assert address_key(address) == key


def test_names_are_counted_whatever_their_case_and_bounded() -> None:
    assert name_key(" Alice ") == "alice"
    assert len(name_key("x" * 500)) == 100


def test_the_wait_is_said_in_whole_minutes_rounded_up() -> None:
    assert wait_in_words(timedelta(seconds=61)) == "2 minutes"
    assert wait_in_words(timedelta(seconds=5)) == "1 minute"
