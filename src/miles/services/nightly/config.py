"""How the nightly run is cut and watched: chunk size, when a pending chunk counts as lost."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NightlyConfig:
    chunk_size: int = 50_000  # member ids per chunk
    stale_seconds: float = (
        900.0  # a pending chunk queued this long ago, that no worker holds, is queued again
    )
    # test hook (MILES_TEST_CHUNK_DELAY_SECONDS): a chunk waits this long after its work, before its commit,
    # so that a test can kill the worker in the middle of a chunk. Always 0 outside tests.
    test_chunk_delay_seconds: float = 0.0
