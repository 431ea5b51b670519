"""What the models observe of a simulated run, and the input each one gets per step.

The loads are the simulator's (failures known now included); the models see utilisation
(load / capacity). A missing interval (NaN) is carried forward from the last observed value,
as a collector that lost a poll would show it; the recorded actuals keep the NaN.
"""

from __future__ import annotations

import numpy as np

from engine.events import FailureEvent
from engine.forecasting.features import time_features
from engine.forecasting.protocol import ForecastInput
from engine.routing import Routing
from engine.simulation import Simulator

__all__ = ["ObservationStream"]


class ObservationStream:
    """Observed utilisation, time features and per-step model inputs of one simulated run.

    Parameters
    ----------
    simulator : Simulator
        The run's simulator; failures added to it later apply to steps not yet observed.
    window, horizon : int
        W observations fed to the models, H steps forecast.

    Examples
    --------
    >>> from engine.loaders import load_topology
    >>> from engine.traffic_sources import make_traffic
    >>> topo = load_topology("abilene")
    >>> sim = Simulator(topo, make_traffic("synthetic", topo, 30, 60.0, 0))
    >>> stream = ObservationStream(sim, window=4, horizon=2)
    >>> stream.fill(10)
    >>> inp = stream.input_at(10)
    >>> inp.window.shape == (4, topo.n_directions), inp.features.shape[0]
    (True, 6)
    """

    def __init__(self, simulator: Simulator, window: int, horizon: int) -> None:
        self.simulator = simulator
        self.window = int(window)
        self.horizon = int(horizon)
        topology, traffic = simulator.topology, simulator.traffic
        self.capacity = topology.direction_capacity.astype(np.float32)
        self.steps = traffic.steps
        # Features for the H steps past the end too, so the last forecasts have inputs.
        base_time = np.datetime64(traffic.start.replace(tzinfo=None), "s")
        offsets = (np.arange(traffic.steps + self.horizon) * traffic.step_minutes * 60).astype("timedelta64[s]")
        self.features = time_features(base_time + offsets).astype(np.float32)
        self.observed = np.zeros((traffic.steps, topology.n_directions), dtype=np.float32)
        self.filled = 0  # steps [0, filled) are in ``observed``

    def fill(self, stop: int) -> None:
        """Observe steps up to ``stop`` (exclusive) under the failures known now."""
        start = self.filled
        if stop <= start:
            return
        util = self.simulator.loads.loads[start:stop] / self.capacity
        prev = self.observed[start - 1] if start > 0 else np.zeros(self.observed.shape[1], np.float32)
        for t in range(stop - start):
            row = util[t]
            if np.isnan(row).any():
                row = np.where(np.isnan(row), prev, row)
            self.observed[start + t] = row
            prev = self.observed[start + t]
        self.filled = stop

    def actual_mbps(self, step: int) -> np.ndarray:
        """(D,) loads at ``step`` in Mbit/s (NaN where the interval is missing)."""
        return self.simulator.loads.loads[step]

    def known_events(self, step: int) -> tuple[FailureEvent, ...]:
        """Failures and restores that have happened by ``step`` (none after it)."""
        return tuple(e for e in self.simulator.events if e.step <= step)

    def input_at(self, step: int) -> ForecastInput:
        """The models' input for forecasting steps ``step .. step + H - 1`` (``step`` not yet observed)."""
        w, h = self.window, self.horizon
        sim = self.simulator

        def routing_at(target: int) -> Routing:
            # Only failures known at ``step`` count: later scheduled ones are the future.
            return sim.routing_at(min(int(target), step))

        return ForecastInput(
            step=step,
            window=self.observed[step - w:step],
            features=self.features[step - w:step + h],
            capacity_mbps=self.capacity,
            routing_at=routing_at,
            events=self.known_events(step),
        )
