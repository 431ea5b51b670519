"""The Impact page's progress bar of a running sweep: done / total, rate and time left, as
``netdrift sweep`` prints them on stderr (:func:`netdrift.service.sweeps.progress_text`)."""

from __future__ import annotations

import time
from typing import Any, Callable

from netdrift.service.sweeps import progress_text

__all__ = ["SweepProgress"]


class SweepProgress:
    """``progress(done, total)`` for :func:`netdrift.service.sweeps.run_sweep`, drawn on ``bar``
    (an ``st.progress``) as ``Sweeping: 1,234 of 1,830 failures (312.5/s, about 2 s left)``.

    The bar is redrawn when the percentage changes or ``every`` seconds have passed (a long sweep
    moves by less than a percent an hour), not for each failure. ``clock``: the time source
    (seconds; the rate is measured from the first failure done). ``what`` and ``unit`` name other
    counted work (the counters panel: "Deducing the demands", steps).
    """

    def __init__(self, bar: Any, every: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 what: str = "Sweeping", unit: str = "failures") -> None:
        self.bar, self.every, self.clock, self.what, self.unit = bar, every, clock, what, unit
        self._t0: float | None = None
        self._shown = (-1, float("-inf"))
        self.text = ""

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self._t0 is None:
            self._t0 = now
        pct = int(100 * done / max(total, 1))
        if pct == self._shown[0] and now - self._shown[1] < self.every and done < total:
            return
        self._shown = (pct, now)
        self.text = f"{self.what}: " + progress_text(done, total, now - self._t0, self.unit)
        self.bar.progress(min(done / max(total, 1), 1.0), text=self.text)
