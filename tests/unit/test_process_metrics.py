"""The API's own counters under `miles serve --workers N`: summed over the processes' files, and a file a
process has only just created (still empty) does not fail the scrape."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from miles.api.metrics import MULTIPROC_ENV, ProcessMetrics


def test_a_process_file_still_empty_is_skipped_and_the_others_are_summed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    key = mmap_key("miles_test_total", "miles_test_total", ["outcome"], ["created"], "A test counter")
    for pid, value in ((101, 2.0), (102, 3.0)):
        written = MmapedDict(str(tmp_path / f"counter_{pid}.db"))
        written.write_value(key, value, 0.0)
        written.close()
    (tmp_path / "histogram_103.db").touch()  # a process's first request of a kind: created, not yet sized
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessMetrics())
    text = generate_latest(registry).decode()
    assert 'miles_test_total{outcome="created"} 5.0' in text
