"""Traffic matrix series: origin-destination demands over time, in Mbit/s."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from netdrift.engine.traffic.time_grid import check_time_span

__all__ = ["TrafficMatrixSeries"]


@dataclass(frozen=True, eq=False)
class TrafficMatrixSeries:
    """Demands shaped (steps, pairs) in Mbit/s.

    ``src[p]``/``dst[p]`` are node indices into ``node_ids`` (the topology's node order).
    A missing interval is a row of NaN (never zeros); ``missing`` tells which.

    Examples
    --------
    >>> import numpy as np
    >>> from datetime import datetime
    >>> tm = TrafficMatrixSeries(("a", "b"), np.array([0]), np.array([1]),
    ...                          np.array([[5.0], [np.nan]]), 5.0, datetime(2024, 1, 1))
    >>> tm.steps, tm.n_pairs, tm.missing.tolist()
    (2, 1, [False, True])
    """

    node_ids: tuple[str, ...]
    src: np.ndarray
    dst: np.ndarray
    demands: np.ndarray
    step_minutes: float
    start: datetime

    def __post_init__(self) -> None:
        if self.demands.ndim != 2 or self.demands.shape[1] != len(self.src) or len(self.src) != len(self.dst):
            raise ValueError("demands must be (steps, pairs) matching src/dst")
        # every step's time_of() is a date (InputError naming step_minutes otherwise)
        check_time_span("step_minutes", self.start, self.step_minutes, self.demands.shape[0])

    @property
    def steps(self) -> int:
        return int(self.demands.shape[0])

    @property
    def n_pairs(self) -> int:
        return int(self.demands.shape[1])

    @property
    def missing(self) -> np.ndarray:
        """(steps,) True where the interval has no data."""
        return np.isnan(self.demands).all(axis=1)

    def time_of(self, step: int) -> datetime:
        """Wall-clock time at the start of ``step``."""
        return self.start + timedelta(minutes=self.step_minutes * step)

    def times(self) -> np.ndarray:
        """datetime64[s] for every step."""
        base = np.datetime64(self.start.replace(tzinfo=None), "s")
        return base + (np.arange(self.steps) * self.step_minutes * 60).astype("timedelta64[s]")

    def scaled(self, factor: float) -> "TrafficMatrixSeries":
        """The same series multiplied by ``factor``."""
        return TrafficMatrixSeries(self.node_ids, self.src, self.dst, self.demands * factor,
                                   self.step_minutes, self.start)

    def slice(self, start: int, stop: int) -> "TrafficMatrixSeries":
        """Steps ``start:stop`` as a new series (start time shifted accordingly)."""
        return TrafficMatrixSeries(self.node_ids, self.src, self.dst, self.demands[start:stop],
                                   self.step_minutes, self.time_of(start))
