"""CPython's garbage collector in a long-lived miles process (an API worker, a Celery worker), tuned once
when the process has loaded what it keeps.

The cyclic collector runs a young-generation pass every 700 allocations of container objects, and its
older passes walk every object that survived the younger ones. A batch of 10,000 coupons allocates some
millions of short-lived objects, nearly all freed by reference counting alone, and holds tens of thousands
alive for the request (the coupons, their members, the promotions' desk), so the default thresholds ran
the collector thousands of times a batch over a growing set. Here what is alive once the process is ready
(modules, schemas, the routes) is frozen out of every pass, and the young generation is collected every
`young` allocations instead of 700; the older generations keep Python's ratios, so a cycle left behind is
still collected, only later. Measured (bench/README.md, "Promotions", session 29): a batch of 10,000 coupons
ran faster in every A/B run, by 2 to 23 %, with 50 live promotions and without.
"""

from __future__ import annotations

import gc

DEFAULT_YOUNG = 100_000


def tune_collector(young: int = DEFAULT_YOUNG) -> None:
    """Freeze what is alive now out of the collector's passes, and collect the young generation every
    `young` container allocations (0 or less: Python's own thresholds)."""
    gc.collect()
    gc.freeze()
    if young > 0:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young, middle, old)
