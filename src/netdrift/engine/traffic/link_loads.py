"""Measured per-direction link loads (interface counters), the data every network has.

A :class:`LinkLoadSeries` holds the loads of every direction of a topology, in the topology's
direction order (:meth:`Topology.direction_names`), in Mbit/s, one row a step. A step with no
measurement for a direction is NaN (a gap is never zero). Readers (CSV rates or counters,
Prometheus) produce one; demand deduction (:mod:`netdrift.engine.traffic.deduce`) turns it
into a :class:`~netdrift.engine.traffic.series.TrafficMatrixSeries`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

__all__ = ["LinkLoadSeries"]


@dataclass(frozen=True)
class LinkLoadSeries:
    """Loads shaped (steps, directions) in Mbit/s, NaN where nothing was measured.

    ``directions`` are ``(link_id, src, dst)`` in the topology's direction order; ``source``
    names where the loads came from (a file, a Prometheus URL), for messages and the history.
    ``link_up`` (optional, (steps, links) bool in the topology's link order) says which links were
    up at each step when the source knows it (``netdrift simulate --out`` writes an ``up``
    column); ``None`` means every link was up throughout.

    Examples
    --------
    >>> s = LinkLoadSeries((("a-b", "a", "b"), ("a-b", "b", "a")),
    ...                    np.array([[1.0, 2.0], [np.nan, 3.0]], np.float32), 5.0, datetime(2024, 1, 1), "x.csv")
    >>> s.steps, s.n_directions, s.missing_fraction
    (2, 2, 0.25)
    """

    directions: tuple[tuple[str, str, str], ...]
    loads: np.ndarray
    step_minutes: float
    start: datetime
    source: str = ""
    link_up: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.loads.ndim != 2 or self.loads.shape[1] != len(self.directions):
            raise ValueError("loads must be (steps, directions) matching directions")
        if self.link_up is not None and np.shape(self.link_up) != (self.loads.shape[0], len(self.directions) // 2):
            raise ValueError("link_up must be (steps, links) matching loads and directions")

    @property
    def steps(self) -> int:
        return int(self.loads.shape[0])

    @property
    def n_directions(self) -> int:
        return int(self.loads.shape[1])

    @property
    def missing_fraction(self) -> float:
        """Share of (step, direction) cells with no measurement."""
        return float(np.isnan(self.loads).mean()) if self.loads.size else 0.0

    def times(self) -> np.ndarray:
        """datetime64[s] at the start of every step."""
        base = np.datetime64(self.start.replace(tzinfo=None), "s")
        return base + (np.arange(self.steps) * self.step_minutes * 60).astype("timedelta64[s]")

    def slice(self, start: int, stop: int) -> "LinkLoadSeries":
        """Steps ``start:stop`` as a new series (start time shifted accordingly)."""
        up = None if self.link_up is None else self.link_up[start:stop]
        return LinkLoadSeries(self.directions, self.loads[start:stop], self.step_minutes,
                              self.start + timedelta(minutes=self.step_minutes * start), self.source, up)
