"""Throttling wrong passwords: too many failures for one account, or from one address, in a window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures_per_account: int = 5
    max_failures_per_address: int = 20
    window: timedelta = timedelta(minutes=15)


def _lifts_at(failures: Sequence[datetime], limit: int, window: timedelta, now: datetime) -> datetime | None:
    recent = sorted(f for f in failures if now - window < f <= now)
    if len(recent) < limit:
        return None
    # the lock lifts when the failures still inside the window drop below the limit
    return recent[len(recent) - limit] + window


def retry_after(
    account_failures: Sequence[datetime],
    address_failures: Sequence[datetime],
    now: datetime,
    policy: ThrottlePolicy,
) -> timedelta | None:
    """How long to wait before the next try, or None when a try is allowed now.

    `account_failures` are the account's wrong passwords since its last successful sign-in;
    `address_failures` are every wrong password from the caller's address."""
    lifts = [
        t
        for t in (
            _lifts_at(account_failures, policy.max_failures_per_account, policy.window, now),
            _lifts_at(address_failures, policy.max_failures_per_address, policy.window, now),
        )
        if t is not None
    ]
    if not lifts:
        return None
    return max(lifts) - now


def wait_in_words(wait: timedelta) -> str:
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
