"""Throttling wrong passwords: per account and per address, inside a sliding window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from miles.domain.throttle import ThrottlePolicy, retry_after, wait_in_words

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(max_failures_per_account=5, max_failures_per_address=20, window=timedelta(minutes=15))


def minutes_ago(*values: float) -> list[datetime]:
    return [NOW - timedelta(minutes=v) for v in values]


def test_four_failures_still_allow_a_try() -> None:
    assert retry_after(minutes_ago(1, 2, 3, 4), [], NOW, POLICY) is None


def test_the_fifth_failure_locks_until_the_oldest_leaves_the_window() -> None:
    assert retry_after(minutes_ago(10, 4, 3, 2, 1), [], NOW, POLICY) == timedelta(minutes=5)


def test_failures_older_than_the_window_do_not_count() -> None:
    assert retry_after(minutes_ago(16, 20, 30, 40, 1), [], NOW, POLICY) is None


def test_many_failures_from_one_address_lock_every_account_tried_from_it() -> None:
    spread = minutes_ago(*[i * 0.5 for i in range(20)])
    wait = retry_after([], spread, NOW, POLICY)
    assert wait is not None
    assert wait > timedelta(minutes=5)
    assert retry_after([], spread[:19], NOW, POLICY) is None


def test_the_wait_is_said_in_whole_minutes_rounded_up() -> None:
    assert wait_in_words(timedelta(seconds=61)) == "2 minutes"
    assert wait_in_words(timedelta(seconds=5)) == "1 minute"
