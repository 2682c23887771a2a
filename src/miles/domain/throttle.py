"""Throttling sign-in tries: per name from one address, and per address, in fixed windows.

A try is counted before its password is checked (and a refused try is counted too), so the counts are
what limits the checks, however many tries arrive at once. The name's limit is kept per address: wrong
passwords sent from elsewhere never stop an agent signing in from their own address; the address's own
limit stops one address hammering many names. IPv6 callers are counted by their /64 network, which one
host can usually change at will."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

MAX_KEY = 100


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures_per_account: int = 5  # for one name, from one address
    max_failures_per_address: int = 20
    window: timedelta = timedelta(minutes=15)


class Refusal(StrEnum):
    NAME = "name"  # too many tries for this name from this address
    ADDRESS = "address"  # too many tries from this address


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window holding `now` (windows are aligned on the Unix epoch)."""
    elapsed = now - _EPOCH
    return now - (elapsed % window)


def retry_after(now: datetime, window: timedelta) -> timedelta:
    """How long until the window holding `now` ends (at least a second)."""
    return max(window_start(now, window) + window - now, timedelta(seconds=1))


def address_key(address: str) -> str:
    """The address as counted: an IPv6 address by its /64, anything unparseable as it came (bounded)."""
    text = address.strip()
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return text[:MAX_KEY] or "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def name_key(name: str) -> str:
    """Names are counted as agents are found: whatever their case."""
    return name.strip().lower()[:MAX_KEY]


def refusal(name_tries: int, address_tries: int | None, policy: ThrottlePolicy) -> Refusal | None:
    """Whether a try, counted as the `name_tries`-th for its name from its address and the
    `address_tries`-th from its address (None when not counted there), is refused."""
    if name_tries > policy.max_failures_per_account:
        return Refusal.NAME
    if address_tries is not None and address_tries > policy.max_failures_per_address:
        return Refusal.ADDRESS
    return None


def wait_in_words(wait: timedelta) -> str:
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
