"""Background warm-up of the server process, started once the first page has been sent.

Importing torch, ncps and the engine takes about 3 s. Doing it while Streamlit starts slows
the first page (both compete for the interpreter); doing it right after the first page means
the operator's "Train and start" finds it done. It also sets torch to one thread: the models
are tiny, and a second thread only fights the web server for the CPU.

It also settles the heap (:func:`settle_heap`): torch, pandas, altair and Streamlit leave some
270k long-lived Python objects, and every full garbage collection walks all of them (measured
here: 0.25 s after the imports, ~0.5 s with a live scenario). Those collections ran about once a
second during a live run, in the middle of click-to-map round trips; objects that will live as
long as the process are moved out of the collector's way once instead.
"""

from __future__ import annotations

import gc
import threading
import time

__all__ = ["start_once", "settle_heap", "import_engine", "wait_until_warm"]

_started = threading.Event()  # process-wide on purpose: imports are process-wide too
_done = threading.Event()


#: Seconds between the first page's script run and the imports. The browser still has to fetch
#: the map component's code and draw the map then; importing torch meanwhile holds the
#: interpreter lock for up to ~0.5 s at a time (loading its libraries), which stalled those
#: requests by ~0.6 s (first map 3.0 -> 2.3 s median with the delay). The cost: a "Train and
#: start" pressed within seconds of the page waits ~1 s longer for the imports (measured 0 /
#: 0.5 / 1.0 / 1.5 s: first map 3.0 / 2.7 / 2.3 / 2.3 s, immediate start 7.5 / 7.9 / 8.8 / 9.6 s).
START_DELAY_S = 1.0


def import_engine() -> None:
    """Import what training a scenario needs: the scenario driver, the service that stores it, and
    every learnt model's class (torch, ncps), and set torch to one thread."""
    from netdrift.engine.forecasting.torch_utils import configure_threads

    configure_threads()
    import netdrift.engine.experiments.scenario
    import netdrift.service.scenarios  # noqa: F401  (the live run's history row, written right after training)
    from netdrift.engine.forecasting.catalogue import CATALOGUE

    for info in CATALOGUE.values():
        if info.learnt:
            info.forecaster_class()


def _warm_up(delay: float = START_DELAY_S) -> None:
    time.sleep(delay)
    try:
        import_engine()
    finally:
        _done.set()
    settle_heap()
    # A dashboard rerun allocates tens of thousands of short-lived containers; with the default
    # young-generation threshold (700) they trigger a full collection about once a second.
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, 20_000), gen1, gen2)


def settle_heap() -> None:
    """Collect garbage once, then exempt every surviving object from later collections.

    ``gc.freeze`` keeps reference counting intact (frozen objects are still freed when their
    last reference goes); it only stops the cyclic collector from re-walking them. Call it after
    big long-lived allocations: the imports, a trained scenario. Earlier frozen objects are
    thawed first, so reference cycles left by a replaced scenario are still collected.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def start_once() -> None:
    """Start the warm-up thread the first time this is called in the process."""
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_warm_up, name="netdrift-warm-up", daemon=True).start()


def wait_until_warm(timeout: float = 300.0) -> None:
    """Return once the warm-up's imports are done (at once when it never started or is done). A
    page about to train or rebuild a scenario imports the engine after the warm-up thread, not
    beside it: two threads importing torch and the engine at once can see half-initialised modules."""
    if _started.is_set():
        _done.wait(timeout)
