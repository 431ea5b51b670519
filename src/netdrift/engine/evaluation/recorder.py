"""Collects the loop's records into per-model forecast series and timings.

The series are what a scenario result stores: for every model, the H-step-ahead forecast (in
Mbit/s) of each step it was made for, NaN where none was made.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from netdrift.engine.evaluation.loop import StepRecord

__all__ = ["ForecastRecorder"]


class ForecastRecorder:
    """Per-model (T, D) forecast series and the time spent per model.

    Examples
    --------
    >>> rec = ForecastRecorder(["persistence"], steps=3, n_directions=2)
    >>> rec.forecasts["persistence"].shape, rec.steps_recorded
    ((3, 2), 0)
    """

    def __init__(self, labels: Iterable[str], steps: int, n_directions: int, intervals: bool = False) -> None:
        self.steps = int(steps)
        labels = list(labels)

        def series() -> dict[str, np.ndarray]:
            return {label: np.full((self.steps, n_directions), np.nan, dtype=np.float32) for label in labels}

        self.forecasts = series()
        #: With intervals: the H-step-ahead bounds per target step, and per step the highest upper
        #: bound of the H forecasts made then (what an overload warning looks at).
        self.lower: dict[str, np.ndarray] = series() if intervals else {}
        self.upper: dict[str, np.ndarray] = series() if intervals else {}
        self.peak_upper: dict[str, np.ndarray] = series() if intervals else {}
        self.seconds = {label: 0.0 for label in self.forecasts}
        self.interval_seconds = 0.0
        self.steps_recorded = 0

    def add(self, record: StepRecord) -> None:
        """Keep ``record``'s H-step-ahead forecasts (targets past the run are dropped) and timings."""
        for label, fc in record.forecasts.items():
            self.seconds[label] += record.seconds[label]
            if record.target < self.steps:
                self.forecasts[label][record.target] = fc.point[-1]
            if fc.upper is not None and fc.lower is not None and label in self.upper:
                if record.target < self.steps:
                    self.lower[label][record.target] = fc.lower[-1]
                    self.upper[label][record.target] = fc.upper[-1]
                self.peak_upper[label][record.step] = fc.upper.max(axis=0)
        self.interval_seconds += record.interval_seconds
        self.steps_recorded += 1

    def interval_ms_per_step(self) -> float:
        """Mean time of all models' intervals per recorded step, in ms."""
        return 1000.0 * self.interval_seconds / max(1, self.steps_recorded)

    def ms_per_step(self, label: str) -> float:
        """Mean forecast + observe time of ``label`` per recorded step, in ms."""
        return 1000.0 * self.seconds[label] / max(1, self.steps_recorded)
