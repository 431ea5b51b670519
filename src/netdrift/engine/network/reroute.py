"""A failure state's loads as the all-up loads plus the change of the pairs it re-routes.

A link that fails re-routes only the origin-destination pairs whose shortest-path DAG used it
(on a large backbone, a fraction of a percent to a quarter of the pairs); every other pair
keeps the same next hops and the same ECMP shares. :class:`DeltaPlan` finds those pairs from
the all-up routing DAG (every (destination, node) state upstream of a down link direction, one
breadth-first search), and pushes only their demand down two pruned load plans, the all-up DAG
and the failure state's, each cut to the states that demand reaches (per destination, as
:class:`LoadPlan` does): loads are ``all-up loads + plan_state(d_A) - plan_up(d_A)``.

The result is a function of the failure state and the step only (never of the order in which
events were added), so a run rebuilt from its events gives the same bits as the run that was
clicked. It equals the from-scratch loads to float32 rounding of the all-up loads (which the
simulator computes in float32): directions of down links are exactly 0, and a direction that
loses all its traffic can keep a residue of about 1e-7 of its former load (never below 0).
The simulator uses it for large topologies only (:func:`use_delta`); small ones are routed
from scratch, which costs milliseconds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from netdrift.engine.network.routing import LoadPlan, Routing, _build_dag, _Dag, _state_masks, routing_matrix
from netdrift.engine.network.topology import Topology

__all__ = ["DeltaPlan", "UpstreamIndex", "use_delta", "DELTA_MIN_PAIRS", "DELTA_MAX_COST"]

#: Topologies with fewer node pairs are re-routed from scratch (a few milliseconds a click).
DELTA_MIN_PAIRS = 10_000
#: A failure state whose two pruned plans move more than this share of what the all-up plan
#: moves per step (DAG edges + pairs) is routed from scratch: measured on Kdl (one thread, float32,
#: 374 steps), a delta takes about 1.5x its share of a from-scratch pass (the gather of the
#: re-routed pairs' demands included), so it stops paying at about two thirds.
DELTA_MAX_COST = 0.6
#: Values (steps x the larger plan's states) per block of :meth:`DeltaPlan.apply_into`: the
#: block's demands and flows stay in cache (as :meth:`LoadPlan.apply_into`'s blocks).
_BLOCK_VALUES = 2_000_000


def use_delta(n_pairs: int) -> bool:
    """Whether a simulator with ``n_pairs`` node pairs computes failure states as deltas."""
    return n_pairs >= DELTA_MIN_PAIRS


class UpstreamIndex:
    """The all-up routing DAG turned around, to find the pairs a set of down directions re-routes.

    States are (destination k, node a), numbered ``k * n + a`` as in the routing DAG; the extra
    last state is the root of each search.
    """

    def __init__(self, dag: _Dag) -> None:
        self.dag = dag
        self.n_states = len(dag.targets) * dag.n
        root = self.n_states
        # Edge to -> from (upstream), one row per state; the root's row is filled per search.
        rev = sp.csr_matrix((np.ones(len(dag.e_from), dtype=np.int8), (dag.e_to, dag.e_from)),
                            shape=(root + 1, root + 1))
        self._indptr, self._indices = rev.indptr, rev.indices
        self._routed = np.flatnonzero(dag.routed)
        self._start = dag.tinv * dag.n + dag.src[self._routed]
        #: what the all-up plan moves per step (DAG edges + pairs): the cost a delta must beat
        self.plan_size = len(dag.e_dir) + len(dag.src)
        self.forward = _forward(dag)

    def affected(self, down_dir: np.ndarray) -> np.ndarray:
        """Sorted indices of the pairs whose all-up route crosses a direction where ``down_dir``
        (2L,) is True (a pair from or to a down node crosses one of its links)."""
        dag = self.dag
        starts = np.unique(dag.e_from[down_dir[dag.e_dir]])
        if len(starts) == 0:
            return np.zeros(0, dtype=np.int64)
        return self._routed[_reached(self._indptr, self._indices, starts)[self._start]]


def _forward(dag: _Dag) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, indices) of the DAG's state graph (from -> to) with an empty extra root row."""
    nk = len(dag.targets) * dag.n
    g = sp.csr_matrix((np.ones(len(dag.e_from), dtype=np.int8), (dag.e_from, dag.e_to)), shape=(nk + 1, nk + 1))
    return g.indptr, g.indices


def _reached(indptr: np.ndarray, indices: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Bool over the states (and the root, last): reached from ``starts`` along the graph."""
    root = len(indptr) - 2
    nnz = len(indices)
    ptr = np.concatenate([indptr[:-1], [nnz + len(starts)]])
    idx = np.concatenate([indices, starts.astype(indices.dtype)])
    graph = sp.csr_matrix((np.ones(len(idx), dtype=np.int8), idx, ptr), shape=(root + 1, root + 1))
    out = np.zeros(root + 1, dtype=bool)
    out[breadth_first_order(graph, root, directed=True, return_predecessors=False)] = True
    return out


def _pruned(dag: _Dag, forward: tuple[np.ndarray, np.ndarray] | None = None) -> _Dag:
    """``dag`` (every pair in it routed) cut to the edges its pairs' demand can reach: a state is
    kept with all its out-edges (so the ECMP shares stay), or not at all."""
    starts = np.unique(dag.tinv * dag.n + dag.src[np.flatnonzero(dag.routed)])
    indptr, indices = forward if forward is not None else _forward(dag)
    keep = _reached(indptr, indices, starts)[dag.e_from]
    return replace(dag, e_dir=dag.e_dir[keep], e_from=dag.e_from[keep], e_to=dag.e_to[keep], e_share=dag.e_share[keep])


def _pair_major(demands: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """(len(pairs), c) float32 demands of ``pairs`` from (c, P) demands, NaN as 0 (float32, as
    the simulator's all-up pass computes)."""
    x = np.empty((len(pairs), demands.shape[0]), dtype=np.float32)
    np.copyto(x.T, demands[:, pairs])
    np.copyto(x, 0.0, where=np.isnan(x))
    return x


class DeltaPlan:
    """One failure state's loads as the all-up loads plus the change of the pairs it re-routes.

    Offers what the simulator and its readers use of a :class:`LoadPlan` (``unreachable``,
    ``link_up``, ``node_up``, :meth:`apply`, :meth:`apply_into`, :meth:`routing`).
    ``base_loads`` (T, 2L) and ``base_dropped`` (T,) are the all-up plan's results for the
    simulator's demands, which :meth:`apply_into` reads. Build with :meth:`build`.
    """

    def __init__(self, topology: Topology, base: LoadPlan, pairs: np.ndarray, before: LoadPlan, after: LoadPlan,
                 link_up: np.ndarray, node_up: np.ndarray, src: np.ndarray, dst: np.ndarray,
                 base_loads: np.ndarray, base_dropped: np.ndarray) -> None:
        self.topology = topology
        self.base = base
        #: the re-routed pairs, sorted
        self.pairs = pairs
        self._before, self._after = before, after   # their demand in the all-up state and in this one
        self.link_up, self.node_up = link_up, node_up
        self._down_dir = np.flatnonzero(~np.repeat(link_up, 2))
        self.unreachable = base.unreachable.copy()
        self.unreachable[pairs] = after.unreachable
        self.n_pairs, self.n_directions = base.n_pairs, base.n_directions
        self._src, self._dst = src, dst
        self._base_loads, self._base_dropped = base_loads, base_dropped
        self._routing: Routing | None = None

    @classmethod
    def build(cls, topology: Topology, base: LoadPlan, index: UpstreamIndex, link_up: np.ndarray,
              node_up: np.ndarray, src: np.ndarray, dst: np.ndarray, base_loads: np.ndarray,
              base_dropped: np.ndarray) -> "DeltaPlan | None":
        """The plan of the state ``link_up``/``node_up``; None when its two pruned plans would move
        more than :data:`DELTA_MAX_COST` of what the all-up plan moves (then routing from scratch
        is cheaper). Either way a function of the state only."""
        lu, nu = _state_masks(topology, link_up, node_up)
        pairs = index.affected(~np.repeat(lu, 2))
        budget = DELTA_MAX_COST * index.plan_size
        dag = index.dag
        pos = np.searchsorted(np.flatnonzero(dag.routed), pairs)
        up_dag = _pruned(_Dag(dag.n, dag.n_dir, src[pairs], dst[pairs], dag.link_up, dag.node_up,
                              np.zeros(len(pairs), dtype=bool), np.ones(len(pairs), dtype=bool), dag.targets,
                              dag.tinv[pos], dag.e_dir, dag.e_from, dag.e_to, dag.e_share), index.forward)
        if 2 * (len(up_dag.e_dir) + len(pairs)) > budget:  # the failure state's plan is about as big
            return None
        state_dag = _pruned(_build_dag(topology, lu, nu, src[pairs], dst[pairs]))
        if len(up_dag.e_dir) + len(state_dag.e_dir) + 2 * len(pairs) > budget:
            return None
        before = LoadPlan(topology, dag=up_dag)
        after = LoadPlan(topology, dag=state_dag)
        return cls(topology, base, pairs, before, after, lu, nu, src, dst, base_loads, base_dropped)

    def _delta(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Change of loads (2L, c) and of dropped demand (c,), float64, for the re-routed pairs'
        demands ``x`` (|pairs|, c) float32 without NaN; a fixed summation order per step."""
        after, lost = self._after.apply_pair_major(x)
        before, _ = self._before.apply_pair_major(x)  # every re-routed pair had a path
        return after.astype(np.float64) - before, lost.astype(np.float64)

    def _finish(self, loads: np.ndarray) -> None:
        down = loads[:, self._down_dir]
        loads[:, self._down_dir] = np.where(np.isnan(down), np.nan, 0.0)  # a step with no data stays NaN
        np.maximum(loads, 0.0, out=loads)  # float32 residues of the all-up loads (NaN stays NaN)

    def apply(self, demands: np.ndarray, dtype: np.dtype | type | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Loads (c, 2L) and dropped demand (c,) in float64 for demands (c, P), as
        :meth:`LoadPlan.apply` (the all-up part in ``dtype``)."""
        demands = np.asarray(demands)
        up_loads, up_dropped = self.base.apply(demands, dtype)
        d_loads, d_dropped = self._delta(_pair_major(demands, self.pairs))
        loads = np.asarray(up_loads, dtype=np.float64) + d_loads.T
        self._finish(loads)
        return loads, np.asarray(up_dropped, dtype=np.float64) + d_dropped

    def apply_into(self, demands: np.ndarray, loads_out: np.ndarray, dropped_out: np.ndarray,
                   start: int = 0, stop: int | None = None, dtype: np.dtype | type = np.float32,
                   workers: int | None = None, progress: Callable[[int], None] | None = None) -> None:
        """Fill ``loads_out[start:stop]`` and ``dropped_out[start:stop]`` for the simulator's
        ``demands`` (T, P) from its all-up results: a step with no demand at all stays NaN,
        isolated NaN demands count as 0 (as :meth:`LoadPlan.apply_into`). ``dtype`` and
        ``workers`` are accepted for the same call; the change is computed in float32."""
        stop = demands.shape[0] if stop is None else stop
        block = max(1, _BLOCK_VALUES // max(len(self.pairs), self._after.n_states, self._before.n_states, 1))
        for a in range(start, stop, block):
            b = min(a + block, stop)
            d_loads, d_dropped = self._delta(_pair_major(demands[a:b], self.pairs))
            loads = self._base_loads[a:b] + d_loads.T
            self._finish(loads)
            loads_out[a:b] = loads
            dropped_out[a:b] = self._base_dropped[a:b] + d_dropped
            if progress is not None:
                progress(b - a)

    def routing(self) -> Routing:
        """The state's per-pair routing matrix (all pairs, routed from scratch), built on first use."""
        if self._routing is None:
            self._routing = routing_matrix(self.topology, self.link_up, self.node_up, self._src, self._dst)
        return self._routing
