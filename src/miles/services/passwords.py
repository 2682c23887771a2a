"""Password hashes (argon2id via argon2-cffi: about 64 MiB and a fraction of a second of CPU each), and the
slots that bound how many are computed at once in a process, so that a flood of sign-ins can neither
exhaust the memory nor take the CPU from everyone else: a caller that finds no free slot is refused."""

from __future__ import annotations

import os
import secrets
import threading
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@cache
def hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _decoy_hash() -> str:
    """Verified against when the name is unknown, so that a wrong name costs as much as a wrong password."""
    return hasher().hash(secrets.token_urlsafe(16))


def verify(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the hash; with no hash (unknown name) the decoy is checked, and fails."""
    try:
        hasher().verify(password_hash or _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def _processors() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class HashSlots:
    """At most `size` password hashes at once: take a slot without waiting, give it back when done."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("at least one hash slot")
        self.size = size
        self._free = threading.BoundedSemaphore(size)

    def try_take(self) -> bool:
        return self._free.acquire(blocking=False)

    def give_back(self) -> None:
        self._free.release()


def default_slots() -> int:
    """Half the processors this process may run on, at least one and at most two: each hash already
    runs four lanes, and two of them at once are 128 MiB."""
    return max(1, min(2, _processors() // 2))


HASH_SLOTS = HashSlots(default_slots())  # one set per process: every app and request of it shares them
