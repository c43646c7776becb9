"""A serving process freezes what it has built before it serves (pactnet.api.collector)."""

from __future__ import annotations

import gc

from pactnet.api.collector import settle_for_serving


def test_settling_freezes_the_objects_built_so_far() -> None:
    kept = [object() for _ in range(100)]  # something alive, built before the call
    frozen_before = gc.get_freeze_count()
    try:
        settle_for_serving()
        assert gc.get_freeze_count() >= frozen_before + len(kept)
        garbage_cycle: list[object] = []
        garbage_cycle.append(garbage_cycle)
        del garbage_cycle
        assert gc.collect() >= 1  # what is built afterwards is still collected
    finally:
        gc.unfreeze()  # this is a test process: give the objects back to the collector
