"""The server's heap settling: long-lived objects leave the collector's way, garbage does not stay."""

from __future__ import annotations

import gc
import weakref

from netdrift.dashboard.common.warmup import settle_heap


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


def test_the_warm_up_imports_what_training_needs() -> None:
    # It runs in a daemon thread where an ImportError would pass unseen: check it here.
    import sys

    from netdrift.dashboard.common.warmup import import_engine

    import_engine()
    assert {"torch", "ncps", "netdrift.engine.experiments.scenario", "netdrift.engine.forecasting.liquid"} <= set(sys.modules)


def test_the_first_page_loads_no_torch() -> None:
    # netdrift.dashboard.serve preloads the first page's modules; torch must wait for the warm-up.
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys; from netdrift.dashboard.serve import preload; preload(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
