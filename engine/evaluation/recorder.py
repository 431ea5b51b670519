"""Collects the loop's records into per-model forecast series and timings.

The series are what a scenario result stores: for every model, the H-step-ahead forecast (in
Mbit/s) of each step it was made for, NaN where none was made.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from engine.evaluation.loop import StepRecord

__all__ = ["ForecastRecorder"]


class ForecastRecorder:
    """Per-model (T, D) forecast series and the time spent per model.

    Examples
    --------
    >>> rec = ForecastRecorder(["persistence"], steps=3, n_directions=2)
    >>> rec.forecasts["persistence"].shape, rec.steps_recorded
    ((3, 2), 0)
    """

    def __init__(self, labels: Iterable[str], steps: int, n_directions: int) -> None:
        self.steps = int(steps)
        self.forecasts: dict[str, np.ndarray] = {
            label: np.full((self.steps, n_directions), np.nan, dtype=np.float32) for label in labels
        }
        self.seconds = {label: 0.0 for label in self.forecasts}
        self.steps_recorded = 0

    def add(self, record: StepRecord) -> None:
        """Keep ``record``'s H-step-ahead forecasts (targets past the run are dropped) and timings."""
        for label, fc in record.forecasts.items():
            self.seconds[label] += record.seconds[label]
            if record.target < self.steps:
                self.forecasts[label][record.target] = fc.point[-1]
        self.steps_recorded += 1

    def ms_per_step(self, label: str) -> float:
        """Mean forecast + observe time of ``label`` per recorded step, in ms."""
        return 1000.0 * self.seconds[label] / max(1, self.steps_recorded)
