"""The garbage collector of a long-lived process, tuned once it is ready."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from miles.collector import tune_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_tuning_freezes_what_is_alive_and_collects_the_young_generation_less_often() -> None:
    _, middle, old = gc.get_threshold()
    tune_collector(123_456)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (123_456, middle, old)


@pytest.mark.usefixtures("restored_collector")
def test_a_threshold_of_zero_keeps_pythons_own() -> None:
    before = gc.get_threshold()
    tune_collector(0)
    assert gc.get_threshold() == before
