"""Failure simulation: link loads over time as links and nodes fail and come back.

The run is cut into *segments* of steps sharing one failure state (the sets of down links and
down nodes). Each state gets one routing plan (cached), and a segment's loads for all its
steps come from one pass of that plan over the demands. Adding or removing an event only
recomputes the steps from the event on whose state actually changed; every step is computed
in a fixed summation order, so a failure followed by its restore gives back the original loads
bit for bit. On large topologies a failure state's loads are the all-up loads plus the change of
the pairs it re-routes (:mod:`netdrift.engine.network.reroute`): a click on Kdl's map costs the
few thousand pairs that used the link, not the half million. Demand with no remaining path is dropped and counted per step (and per pair on
request), never silently lost.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from netdrift.engine.errors import InputError
from netdrift.engine.network.events import FailureEvent, down_sets_at, in_log_order
from netdrift.engine.network.reroute import DeltaPlan, UpstreamIndex, use_delta
from netdrift.engine.network.routing import LoadPlan, Routing
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries

__all__ = ["LinkLoads", "Simulator", "simulate", "FRAME_COLUMNS"]

#: Columns of :meth:`LinkLoads.to_frame`, in order.
FRAME_COLUMNS = ("step", "time", "link_id", "src", "dst", "load_mbps", "capacity_mbps", "up")

StateKey = tuple[frozenset[str], frozenset[str]]
#: A failure state's plan: routed from scratch, or as a change to the all-up loads.
Plan = LoadPlan | DeltaPlan
_ALL_UP: StateKey = (frozenset(), frozenset())


@dataclass(frozen=True, eq=False)
class LinkLoads:
    """Loads of every link direction over the run.

    ``loads`` (T, 2L) Mbit/s, NaN rows where the traffic interval is missing; ``link_up``
    (T, L) bool; ``dropped_mbps`` (T,) demand with no path at each step (NaN when missing).
    ``segments`` holds ``(start, stop, plan)`` for each failure state, ``demands`` the
    traffic (T, P) they were computed from.
    """

    loads: np.ndarray
    link_up: np.ndarray
    dropped_mbps: np.ndarray
    topology: Topology
    segments: tuple[tuple[int, int, Plan], ...] = ()
    demands: np.ndarray | None = field(default=None, repr=False)

    @property
    def steps(self) -> int:
        return int(self.loads.shape[0])

    def utilization(self) -> np.ndarray:
        """Load / capacity, (T, 2L)."""
        return self.loads / self.topology.direction_capacity[None, :]

    def _plan_at(self, step: int) -> Plan:
        if not 0 <= step < self.steps:
            raise InputError(f"step {step}", f"outside the run (0..{self.steps - 1})")
        for a, b, plan in self.segments:
            if a <= step < b:
                return plan
        raise InputError(f"step {step}", "no routing state recorded for it")

    def dropped_by_pair(self, step: int) -> np.ndarray:
        """Demand (P,) in Mbit/s dropped at ``step`` for each pair (0 where delivered)."""
        plan = self._plan_at(step)
        if self.demands is None:
            raise InputError("dropped_by_pair", "these loads carry no demands")
        row = np.asarray(self.demands[step], dtype=np.float64)
        return np.where(plan.unreachable, row, 0.0)

    def to_frame(self, traffic: TrafficMatrixSeries) -> pd.DataFrame:
        """Long table, one row per step and link direction: :data:`FRAME_COLUMNS`.

        ``src -> dst`` is the direction; ``up`` is the physical link's state at that step.
        """
        t, n_dir = self.loads.shape
        names = self.topology.direction_names()
        link_ids = np.array([x[0] for x in names], dtype=object)
        srcs = np.array([x[1] for x in names], dtype=object)
        dsts = np.array([x[2] for x in names], dtype=object)
        times = traffic.times()[:t]
        return pd.DataFrame({
            "step": np.repeat(np.arange(t, dtype=np.int64), n_dir),
            "time": np.repeat(times, n_dir),
            "link_id": np.tile(link_ids, t),
            "src": np.tile(srcs, t),
            "dst": np.tile(dsts, t),
            "load_mbps": self.loads.reshape(-1).astype(np.float64),
            "capacity_mbps": np.tile(self.topology.direction_capacity, t),
            "up": np.repeat(self.link_up, 2, axis=1).reshape(-1),
        }, columns=list(FRAME_COLUMNS))

    def summary(self, events: Iterable[FailureEvent] = ()) -> dict[str, Any]:
        """Headline figures as plain JSON-ready values.

        Keys: ``steps``, ``links``, ``directions``, ``nodes``, ``missing_steps``,
        ``max_utilization`` (NaN-free max of load / capacity, None when nothing is known),
        ``max_utilization_at`` ({step, link_id, src, dst}), ``dropped_mbps_total`` (sum over
        steps of the dropped Mbit/s), ``dropped_steps`` and ``events``: one dict per event
        with ``step``, ``action``, ``target``, ``kind``, plus what it did: ``dropped_mbps``
        at that step, ``max_utilization_after`` (until the state changes again) and
        ``top_changes`` (the link directions whose load moved most at that step because of
        the re-route, with ``delta_mbps``).
        """
        util = self.utilization()
        names = self.topology.direction_names()
        finite = np.isfinite(util)
        out: dict[str, Any] = {
            "steps": self.steps,
            "links": len(self.topology.links),
            "directions": self.topology.n_directions,
            "nodes": len(self.topology.nodes),
            "missing_steps": int(np.isnan(self.loads).all(axis=1).sum()) if self.loads.shape[1] else 0,
            "max_utilization": None,
            "max_utilization_at": None,
            "dropped_mbps_total": float(np.nansum(self.dropped_mbps)),
            "dropped_steps": int((np.nan_to_num(self.dropped_mbps) > 0).sum()),
        }
        if finite.any():
            flat = int(np.argmax(np.where(finite, util, -np.inf)))
            s, d = divmod(flat, util.shape[1])
            out["max_utilization"] = float(util[s, d])
            out["max_utilization_at"] = {"step": s, "link_id": names[d][0], "src": names[d][1],
                                         "dst": names[d][2]}
        out["events"] = [self._event_summary(e, util, names) for e in sorted(events)]
        return out

    def _event_summary(self, e: FailureEvent, util: np.ndarray,
                       names: list[tuple[str, str, str]]) -> dict[str, Any]:
        info: dict[str, Any] = {"step": e.step, "action": e.action, "target": e.target, "kind": e.kind}
        if not 0 <= e.step < self.steps:
            return info
        s = e.step
        info["dropped_mbps"] = _num(self.dropped_mbps[s])
        end = next((b for a, b, _ in self.segments if a <= s < b), self.steps)
        seg = util[s:end]
        info["max_utilization_after"] = _num(np.nanmax(seg)) if np.isfinite(seg).any() else None
        changes: list[dict[str, Any]] = []
        if s > 0 and self.demands is not None and self.segments:
            before, after = self._plan_at(s - 1), self._plan_at(s)
            row = np.asarray(self.demands[s])
            if before is not after and not np.isnan(row).all():
                row = np.where(np.isnan(row), 0.0, row)[None, :]
                delta = after.apply(row, np.float64)[0][0] - before.apply(row, np.float64)[0][0]
                for d in np.argsort(-np.abs(delta), kind="stable")[:3]:
                    if abs(delta[d]) > 0:
                        changes.append({"link_id": names[d][0], "src": names[d][1],
                                        "dst": names[d][2], "delta_mbps": float(delta[d])})
        info["top_changes"] = changes
        return info


def _num(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


class Simulator:
    """Loads over a run with failure events, recomputing only what an event changes.

    Parameters
    ----------
    topology, traffic
        The network and its demands (``traffic.node_ids`` must be the topology's nodes).
    events
        Initial failure events (validated: known ids, steps inside the run).
    progress
        Optional ``callable(done_steps, total_steps)`` for the initial computation.
    workers
        Threads for the load products (default: CPU count).
    cache_size
        Failure states whose routing plans are kept besides those in use.

    Examples
    --------
    >>> from datetime import datetime
    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> nodes = (Node("a", "a"), Node("b", "b"), Node("c", "c"))
    >>> links = (Link("ab", "a", "b", 100.0), Link("bc", "b", "c", 100.0), Link("ac", "a", "c", 100.0))
    >>> topo = Topology("tri", nodes, links)
    >>> tm = TrafficMatrixSeries(("a", "b", "c"), np.array([0]), np.array([2]),
    ...                          np.full((4, 1), 10.0), 5.0, datetime(2024, 1, 1))
    >>> sim = Simulator(topo, tm)
    >>> sim.loads.loads[:, 4].tolist()           # a->c direct
    [10.0, 10.0, 10.0, 10.0]
    >>> sim.add_event(FailureEvent(2, "fail", "ac", "link"))
    >>> sim.loads.loads[:, 0].tolist()           # a->b carries it from step 2
    [0.0, 0.0, 10.0, 10.0]
    >>> sim.state_at(3)
    (frozenset({'ac'}), frozenset())
    """

    def __init__(self, topology: Topology, traffic: TrafficMatrixSeries,
                 events: Iterable[FailureEvent] = (),
                 progress: Callable[[int, int], None] | None = None,
                 workers: int | None = None, cache_size: int = 8) -> None:
        node_ids = tuple(n.id for n in topology.nodes)
        if tuple(traffic.node_ids) != node_ids:
            raise InputError("traffic", f"its nodes do not match topology '{topology.name}'")
        self.topology = topology
        self.traffic = traffic
        self.workers = workers
        self.cache_size = cache_size
        t, n_dir, n_links = traffic.steps, topology.n_directions, len(topology.links)
        self._loads = np.zeros((t, n_dir), dtype=np.float64)
        self._dropped = np.zeros(t, dtype=np.float64)
        self._link_up = np.ones((t, n_links), dtype=bool)
        self._plans: OrderedDict[StateKey, Plan] = OrderedDict()
        self._rerouted: dict[tuple[StateKey, StateKey], np.ndarray] = {}  # rerouted_at's answers by state pair
        # All-up plan, its loads and dropped demand over the run, and its DAG turned around: what
        # the delta plans of large topologies start from (made on first need).
        self._up_plan: LoadPlan | None = None
        self._up: tuple[np.ndarray, np.ndarray] | None = None
        self._upstream: UpstreamIndex | None = None
        self._events: list[FailureEvent] = []
        for e in events:
            self._check(e)
            self._events.append(e)
        self._segments: list[tuple[int, int, StateKey]] = []
        self._snapshot: LinkLoads | None = None
        #: Total steps whose loads were (re)computed since creation.
        self.steps_computed = 0
        #: Step ranges recomputed by the last change, [(start, stop), ...].
        self.last_recomputed: list[tuple[int, int]] = []
        self._update(0, progress)

    # --- public API -----------------------------------------------------------------------
    @property
    def events(self) -> list[FailureEvent]:
        """The events in force, in log order (by step; within a step, in the order they were added)."""
        return in_log_order(self._events)

    @property
    def loads(self) -> LinkLoads:
        """Current loads (a snapshot: later events do not change it)."""
        if self._snapshot is None:
            segs = tuple((a, b, self._plans[k]) for a, b, k in self._segments)
            self._snapshot = LinkLoads(self._loads.copy(), self._link_up.copy(), self._dropped.copy(),
                                       self.topology, segs, self.traffic.demands)
        return self._snapshot

    def add_event(self, event: FailureEvent) -> None:
        """Apply ``event``; only steps from ``event.step`` on whose state changed are recomputed."""
        self._check(event)
        self._events.append(event)
        self._update(event.step)

    def remove_event(self, event: FailureEvent) -> None:
        """Undo a previously added ``event`` (recomputing only the steps it had changed)."""
        try:
            self._events.remove(event)
        except ValueError:
            raise InputError(f"event {event.action} '{event.target}' at step {event.step}",
                             "is not in this simulation") from None
        self._update(event.step)

    def state_at(self, step: int) -> StateKey:
        """(down link ids, down node ids) in force at ``step``."""
        if not 0 <= step < self.traffic.steps:
            raise InputError(f"step {step}", f"outside the run (0..{self.traffic.steps - 1})")
        return self._key_at(step)

    def routing_at(self, step: int) -> Routing:
        """The per-pair routing matrix in force at ``step``."""
        return self._plan(self._key_at(step)).routing()

    def link_up_at(self, step: int) -> np.ndarray:
        """(L,) the links up at ``step`` (a link touching a down node counts as down), without
        building a routing matrix (on Kdl one takes seconds)."""
        return self._plan(self._key_at(step)).link_up

    def route(self, demands: np.ndarray, step: int) -> np.ndarray:
        """(2L,) float64 loads of one (P,) demand vector routed as at ``step``, by the state's load
        plan (the same loads as ``routing_at(step).matrix @ demands``, without building it)."""
        loads, _ = self._plan(self._key_at(step)).apply(np.asarray(demands, dtype=np.float64)[None, :], np.float64)
        return np.asarray(loads[0], dtype=np.float64)

    def rerouted_at(self, step: int) -> np.ndarray:
        """(2L,) True where the routing at ``step`` differs from the step before: a direction whose
        row of the routing matrix changed. Found without the matrices: both states route one fixed
        random positive demand vector, and a row that differs gives a different load with
        probability 1 (a randomised identity test); equal rows give the same load to ~1e-12."""
        n_dir = self.topology.n_directions
        if step <= 0:
            return np.zeros(n_dir, dtype=bool)
        a, b = self._key_at(step - 1), self._key_at(step)
        if a == b:
            return np.zeros(n_dir, dtype=bool)
        known = self._rerouted.get((a, b))
        if known is None:
            probe = np.random.default_rng(12345).uniform(0.5, 1.5, self.traffic.n_pairs)
            before, after = self.route(probe, step - 1), self.route(probe, step)
            known = ~np.isclose(after, before, rtol=1e-9, atol=1e-9)
            self._rerouted[(a, b)] = known
        return known.copy()

    # --- internals ------------------------------------------------------------------------
    def _check(self, e: FailureEvent) -> None:
        kind = self.topology.check_element(e.target)
        if kind != e.kind:
            raise InputError(f"failure target '{e.target}'", f"is a {kind}, not a {e.kind}")
        if e.action not in ("fail", "restore"):
            raise InputError(f"event action '{e.action}'", "expected 'fail' or 'restore'")
        if not 0 <= e.step < self.traffic.steps:
            raise InputError(f"event {e.action} '{e.target}' at step {e.step}",
                             f"outside the run (0..{self.traffic.steps - 1})")

    def _key_at(self, step: int) -> StateKey:
        for a, b, k in self._segments:
            if a <= step < b:
                return k
        return down_sets_at(self._events, step)

    def _new_segments(self) -> list[tuple[int, int, StateKey]]:
        t = self.traffic.steps
        cuts = sorted({0} | {e.step for e in self._events if 0 < e.step < t})
        segs: list[tuple[int, int, StateKey]] = []
        for i, a in enumerate(cuts):
            b = cuts[i + 1] if i + 1 < len(cuts) else t
            key = down_sets_at(self._events, a)
            if segs and segs[-1][2] == key:
                segs[-1] = (segs[-1][0], b, key)
            else:
                segs.append((a, b, key))
        return segs

    def _all_up_plan(self) -> LoadPlan:
        if self._up_plan is None:
            known = self._plans.get(_ALL_UP)
            self._up_plan = known if isinstance(known, LoadPlan) else LoadPlan(
                self.topology, None, None, self.traffic.src, self.traffic.dst)
        return self._up_plan

    def _all_up_loads(self) -> tuple[np.ndarray, np.ndarray]:
        """All-up loads and dropped demand of every step (the same bits the all-up plan gives)."""
        if self._up is None:
            loads = np.zeros_like(self._loads)
            dropped = np.zeros_like(self._dropped)
            self._all_up_plan().apply_into(self.traffic.demands, loads, dropped, workers=self.workers)
            self._up = (loads, dropped)
        return self._up

    def _plan(self, key: StateKey) -> Plan:
        plan = self._plans.get(key)
        if plan is None:
            down_links, down_nodes = key
            topo = self.topology
            link_up = topo.link_up_mask(down_links, down_nodes)
            node_up = np.ones(len(topo.nodes), dtype=bool)
            for nid in down_nodes:
                node_up[topo.node_index[nid]] = False
            src, dst = self.traffic.src, self.traffic.dst
            if key != _ALL_UP and use_delta(len(src)):
                up = self._all_up_plan()
                if self._upstream is None:
                    self._upstream = UpstreamIndex(up._dag)
                plan = DeltaPlan.build(topo, up, self._upstream, link_up, node_up, src, dst, *self._all_up_loads())
            if plan is None:
                plan = self._all_up_plan() if key == _ALL_UP and self._up_plan is not None else \
                    LoadPlan(topo, link_up, node_up, src, dst)
            self._plans[key] = plan
        else:
            self._plans.move_to_end(key)
        return plan

    def _update(self, from_step: int, progress: Callable[[int, int], None] | None = None) -> None:
        old = self._segments
        if self._up is None and old and use_delta(self.traffic.n_pairs) and all(k == _ALL_UP for _, _, k in old):
            self._up = (self._loads.copy(), self._dropped.copy())  # the run is all up until now: keep it
        new = self._new_segments()
        t = self.traffic.steps
        # Step ranges (from from_step on) whose failure state differs from before.
        cuts = sorted({a for a, _, _ in old} | {a for a, _, _ in new} | {from_step, t})
        todo: list[tuple[int, int, StateKey]] = []
        for i in range(len(cuts) - 1):
            a, b = cuts[i], cuts[i + 1]
            if a < from_step or a >= t:
                continue
            key_new = next(k for s0, s1, k in new if s0 <= a < s1)
            key_old = next((k for s0, s1, k in old if s0 <= a < s1), None)
            if key_old != key_new:
                if todo and todo[-1][1] == a and todo[-1][2] == key_new:
                    todo[-1] = (todo[-1][0], b, key_new)
                else:
                    todo.append((a, b, key_new))
        self._segments = new
        self.last_recomputed = [(a, b) for a, b, _ in todo]
        total = sum(b - a for a, b, _ in todo)
        done = [0]

        def tick(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(done[0], total)

        for a, b, key in todo:
            plan = self._plan(key)
            if key == _ALL_UP and self._up is not None:  # back to all up: its loads are kept
                self._loads[a:b], self._dropped[a:b] = self._up[0][a:b], self._up[1][a:b]
                tick(b - a)
            else:
                plan.apply_into(self.traffic.demands, self._loads, self._dropped, a, b, workers=self.workers,
                                progress=tick)
            self._link_up[a:b] = plan.link_up
            self.steps_computed += b - a
        in_use = {k for _, _, k in new}
        while len(self._plans) > len(in_use) + self.cache_size:
            victim = next(k for k in self._plans if k not in in_use)
            del self._plans[victim]
        self._snapshot = None


def simulate(topology: Topology, traffic: TrafficMatrixSeries, events: Iterable[FailureEvent] = (),
             progress: Callable[[int, int], None] | None = None) -> LinkLoads:
    """Loads of every link direction for ``traffic`` on ``topology`` under ``events``.

    >>> from datetime import datetime
    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> topo = Topology("ab", (Node("a", "a"), Node("b", "b")), (Link("ab", "a", "b", 100.0),))
    >>> tm = TrafficMatrixSeries(("a", "b"), np.array([0]), np.array([1]),
    ...                          np.array([[40.0], [50.0]]), 5.0, datetime(2024, 1, 1))
    >>> ll = simulate(topo, tm, [FailureEvent(1, "fail", "ab", "link")])
    >>> ll.loads.tolist(), ll.dropped_mbps.tolist()
    ([[40.0, 0.0], [0.0, 0.0]], [0.0, 50.0])
    """
    return Simulator(topology, traffic, events, progress=progress).loads
