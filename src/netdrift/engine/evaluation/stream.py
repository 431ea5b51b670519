"""What the models observe of a simulated run, and the input each one gets per step.

The loads are the simulator's (failures known now included); the models see utilisation
(load / capacity). A missing interval (NaN) is carried forward from the last observed value,
as a collector that lost a poll would show it; the recorded actuals keep the NaN.

When demand-space (routed) models run, the stream also keeps one demand row per step, as the
scenario's ``observe`` setting says:

- ``"links"`` (like SNMP counters): demands estimated at each step by tomogravity from the link
  loads and the per-node ingress/egress totals (the edge-interface counters tomogravity
  assumes), through the routing in force at that step;
- ``"demands"`` (like flow export): the true demands, an upper bound.
"""

from __future__ import annotations

import numpy as np

from netdrift.engine.errors import InputError
from netdrift.engine.forecasting.features import time_features
from netdrift.engine.forecasting.protocol import OBSERVE_CHOICES, ForecastInput, Pairs
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.routing import Routing
from netdrift.engine.network.simulation import Simulator

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
    >>> from netdrift.engine.network.loaders import load_topology
    >>> from netdrift.engine.traffic.sources import make_traffic
    >>> topo = load_topology("abilene")
    >>> sim = Simulator(topo, make_traffic("synthetic", topo, 30, 60.0, 0))
    >>> stream = ObservationStream(sim, window=4, horizon=2)
    >>> stream.fill(10)
    >>> inp = stream.input_at(10)
    >>> inp.window.shape == (4, topo.n_directions), inp.features.shape[0]
    (True, 6)
    """

    def __init__(self, simulator: Simulator, window: int, horizon: int, observe: str = "links",
                 with_demands: bool = False) -> None:
        if observe not in OBSERVE_CHOICES:
            raise InputError(f"observe '{observe}'", f"unknown; valid: {', '.join(OBSERVE_CHOICES)}")
        self.simulator = simulator
        self.observe = observe
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
        self.pairs = Pairs(traffic.src, traffic.dst, len(topology.nodes))
        #: (T, P) demands as the routed models see them (gap-filled), when they run.
        self.demands: np.ndarray | None = (
            np.zeros((traffic.steps, traffic.n_pairs), dtype=np.float32) if with_demands else None)
        self._tm_sums = np.zeros(4)  # |est - true|^2, |true|^2, |R est - y|^2, |y|^2
        self.filled = 0  # steps [0, filled) are in ``observed`` (and ``demands``)

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
        if self.demands is not None:
            self._fill_demands(start, stop)
        self.filled = stop

    def _fill_demands(self, start: int, stop: int) -> None:
        assert self.demands is not None  # called only when demands are kept
        traffic = self.simulator.traffic
        true = traffic.demands[start:stop]
        if self.observe == "demands":
            rows = np.array(true, dtype=np.float32)
        else:
            rows = self._estimate(start, stop)
        prev = self.demands[start - 1] if start > 0 else np.zeros(rows.shape[1], np.float32)
        for t in range(stop - start):
            row = rows[t]
            if np.isnan(row).any():
                row = np.where(np.isnan(row), prev, row)
            self.demands[start + t] = row
            prev = row

    def _estimate(self, start: int, stop: int) -> np.ndarray:
        """Tomogravity estimates of steps [start, stop), one batch per routing state."""
        from netdrift.engine.traffic.tomogravity import node_totals, tomogravity

        sim, traffic = self.simulator, self.simulator.traffic
        loads = sim.loads.loads[start:stop]
        true = np.asarray(traffic.demands[start:stop], dtype=np.float32)
        egress, ingress = node_totals(true, traffic.src, traffic.dst, len(sim.topology.nodes))
        out = np.empty(true.shape, dtype=np.float32)
        t = start
        while t < stop:
            routing = sim.routing_at(t)
            end = t + 1
            while end < stop and sim.routing_at(end) is routing:
                end += 1
            a, b = t - start, end - start
            est = tomogravity(routing, loads[a:b], egress[a:b], ingress[a:b], traffic.src, traffic.dst)
            out[a:b] = est
            ok = np.isfinite(est).all(axis=1) & np.isfinite(true[a:b]).all(axis=1) & np.isfinite(loads[a:b]).all(axis=1)
            if ok.any():
                e, d, y = est[ok].astype(np.float64), true[a:b][ok].astype(np.float64), loads[a:b][ok]
                self._tm_sums += [np.sum((e - d) ** 2), np.sum(d**2),
                                  np.sum((np.asarray(routing.matrix @ e.T).T - y) ** 2), np.sum(y.astype(np.float64) ** 2)]
            t = end
        return out

    def reroute_shift(self, step: int) -> np.ndarray:
        """(D,) expected |load change| (Mbit/s) the routing change at ``step`` causes per direction.

        What an operator can compute when a failure or restore happens: the last observed
        per-node totals (step - 1) spread by the gravity model, routed before and after.
        """
        before, after = self.reroute_levels(step)
        return np.abs(after - before)

    def reroute_levels(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(D,), (D,): the loads (Mbit/s) :meth:`reroute_shift` compares, routed before and after
        the routing change at ``step`` (equal when nothing changed)."""
        from netdrift.engine.traffic.tomogravity import gravity_prior, node_totals

        sim, traffic = self.simulator, self.simulator.traffic
        if step <= 0 or sim.state_at(step - 1) == sim.state_at(step):
            zero = np.zeros(self.observed.shape[1])
            return zero, zero
        last = np.nan_to_num(np.asarray(traffic.demands[step - 1], dtype=np.float64))
        egress, ingress = node_totals(last, traffic.src, traffic.dst, len(sim.topology.nodes))
        prior = gravity_prior(egress, ingress, traffic.src, traffic.dst)
        # Routed by the two states' load plans (the routing matrices take seconds on Kdl).
        return sim.route(prior, step - 1), sim.route(prior, step)

    def estimation_errors(self) -> dict[str, float] | None:
        """Relative L2 errors of the tomogravity estimates so far (demands, and the link loads they
        reproduce), or None when demands are observed, not estimated."""
        if self.demands is None or self.observe != "links" or self._tm_sums[1] == 0:
            return None
        s = self._tm_sums
        return {"rel_l2_demands": float(np.sqrt(s[0] / s[1])),
                "rel_l2_links": float(np.sqrt(s[2] / s[3])) if s[3] > 0 else 0.0}

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

        def link_up_at(target: int) -> np.ndarray:
            return sim.link_up_at(min(int(target), step))

        def rerouted_at(target: int) -> np.ndarray:
            return sim.rerouted_at(min(int(target), step))

        return ForecastInput(
            step=step,
            window=self.observed[step - w:step],
            features=self.features[step - w:step + h],
            capacity_mbps=self.capacity,
            routing_at=routing_at,
            events=self.known_events(step),
            demands=None if self.demands is None else self.demands[step - w:step],
            link_up_at=link_up_at,
            rerouted_at=rerouted_at,
        )
