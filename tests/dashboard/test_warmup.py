"""The server's heap settling: long-lived objects leave the collector's way, garbage does not stay."""

from __future__ import annotations

import gc
import weakref

from dashboard.warmup import settle_heap


class _Cell:
    pass


def test_settled_objects_are_frozen_and_a_later_settle_still_collects_their_cycles() -> None:
    try:
        cell = _Cell()
        cell.me = cell  # a reference cycle: only the cyclic collector can free it
        ref = weakref.ref(cell)
        settle_heap()
        assert gc.get_freeze_count() > 0
        del cell
        gc.collect()
        assert ref() is not None, "a frozen object must be out of ordinary collections' way"
        settle_heap()  # e.g. the next scenario started: the old one's cycles go
        assert ref() is None
    finally:
        gc.unfreeze()
