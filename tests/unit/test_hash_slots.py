"""Password hashes run in a bounded number of slots: a sign-in finding none within a short wait is refused."""

from __future__ import annotations

import asyncio
import time

import pytest

from miles.console.security import take_hash_slot
from miles.services.passwords import HashSlots, default_slots


def test_no_more_slots_are_taken_than_there_are() -> None:
    slots = HashSlots(2)
    assert slots.try_take()
    assert slots.try_take()
    assert not slots.try_take()
    slots.give_back()
    assert slots.try_take()


def test_a_process_hashes_one_or_two_passwords_at_once() -> None:
    assert 1 <= default_slots() <= 2


def test_a_sign_in_waits_briefly_for_a_slot_then_gives_up() -> None:
    slots = HashSlots(1)
    assert slots.try_take()
    began = time.monotonic()
    assert not asyncio.run(take_hash_slot(slots, wait=0.1))
    assert 0.1 <= time.monotonic() - began < 1.0


def test_a_slot_given_back_during_the_wait_is_taken() -> None:
    slots = HashSlots(1)
    assert slots.try_take()

    async def scenario() -> bool:
        asyncio.get_running_loop().call_later(0.05, slots.give_back)
        return await take_hash_slot(slots, wait=1.0)

    assert asyncio.run(scenario())
    assert not slots.try_take()


def test_slots_must_exist() -> None:
    with pytest.raises(ValueError, match="at least one"):
        HashSlots(0)
