"""Background warm-up of the server process, started once the first page has been sent.

Importing torch, ncps and the engine takes about 3 s. Doing it while Streamlit starts slows
the first page (both compete for the interpreter); doing it right after the first page means
the operator's "Train and start" finds it done. It also sets torch to one thread: the models
are tiny, and a second thread only fights the web server for the CPU.
"""

from __future__ import annotations

import threading

__all__ = ["start_once"]

_started = threading.Event()  # process-wide on purpose: imports are process-wide too


def _warm_up() -> None:
    from engine.forecasting.torch_utils import configure_threads

    configure_threads()
    import engine.scenario  # noqa: F401


def start_once() -> None:
    """Start the warm-up thread the first time this is called in the process."""
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_warm_up, name="netdrift-warm-up", daemon=True).start()
