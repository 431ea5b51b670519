"""When a link first needs its upgrade: the first step of the horizon at which the forecast, routed
under a failure state that overloads the link in the plan week, takes one of its directions over
the target utilisation on its current capacity.

Growth is never negative (:mod:`netdrift.engine.planning.growth`), so every demand at a step is at
most the demand at the same step of the week in the plan week (the horizon's last): a failure
state that keeps a direction under the target in the plan week keeps it under all horizon long.
Only the states that overload the link in the plan week are therefore examined, each over the
whole horizon. A state's routing is the no-failure routing with the pairs that cross a failed
link re-routed (as the sweep does).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp

from netdrift.engine.network.routing import routing_matrix
from netdrift.engine.network.topology import Topology
from netdrift.engine.planning.growth import DemandForecast
from netdrift.engine.sweep.failures import Failure

__all__ = ["StateRouting", "first_crossing"]


class StateRouting:
    """Routing rows of failure states, from the no-failure routing plus the re-routed pairs."""

    def __init__(self, topology: Topology, src: np.ndarray, dst: np.ndarray) -> None:
        self.t = topology
        self.src, self.dst = src, dst
        self.base = routing_matrix(topology, src=src, dst=dst).matrix.tocsr()
        self._cache: dict[str, sp.csr_matrix] = {}

    def matrix(self, failure: Failure | None) -> sp.csr_matrix:
        """(2L, P) routing fractions under ``failure`` (None: no failure)."""
        if failure is None:
            return self.base
        key = failure.target
        if key not in self._cache:
            t = self.t
            link_up = t.link_up_mask(failure.links, failure.nodes)
            node_up = np.ones(len(t.nodes), dtype=bool)
            for nid in failure.nodes:
                node_up[t.node_index[nid]] = False
            down = np.flatnonzero(~np.repeat(link_up, 2))
            R = self.base
            sel = np.unique(np.concatenate([R.indices[R.indptr[d]:R.indptr[d + 1]] for d in down])
                            if len(down) else np.zeros(0, np.int64))
            keep = np.ones(R.shape[1], dtype=bool)
            keep[sel] = False
            m = (R @ sp.diags(keep.astype(np.float64))).tocsc()
            if len(sel):
                after = routing_matrix(t, link_up, node_up, self.src[sel], self.dst[sel]).matrix.tocsc()
                put = sp.csc_matrix((after.data, after.indices, after.indptr), shape=after.shape)
                expand = sp.csr_matrix((np.ones(len(sel)), (np.arange(len(sel)), sel)), shape=(len(sel), R.shape[1]))
                m = m + put @ expand
            self._cache[key] = m.tocsr()
        return self._cache[key]


def first_crossing(fc: DemandForecast, rows: sp.csr_matrix, limit_mbps: float, start: int, stop: int,
                   upper: bool) -> int | None:
    """The first absolute step in ``[start, stop)`` at which any row of ``rows`` (k, P) routes
    more than ``limit_mbps`` of the forecast (its upper bound with ``upper``); None if never.
    Pairs are grouped by growth slope: the load of step ``k`` is
    ``sum_g exp(slope_g (k - N)) * A_g[(k - N) mod W]`` with ``A_g`` the group's routed profile."""
    base = fc.base(upper)                                    # (W, P)
    N, W = fc.history_steps, fc.week_steps
    slopes, group = np.unique(fc.slope, return_inverse=True)
    k = np.arange(start, stop) - N
    growth = np.exp(np.outer(k, slopes))                     # (T, G)
    pos = np.mod(k, W)
    first: int | None = None
    for i in range(rows.shape[0]):
        r = rows.getrow(i)
        if not r.nnz:
            continue
        onehot = sp.csr_matrix((r.data, (np.arange(r.nnz), group[r.indices])), shape=(r.nnz, len(slopes)))
        A = np.asarray(onehot.T @ base[:, r.indices].T).T                       # (W, G) routed profile
        load = np.einsum("tg,tg->t", growth, A[pos])
        over = np.flatnonzero(load > limit_mbps)
        if len(over) and (first is None or over[0] + start < first):
            first = int(over[0]) + start
    return first


def earliest_need(fc: DemandForecast, routing: StateRouting, states: Sequence[Failure | None],
                  directions: Sequence[int], limit_mbps: float, start: int, stop: int,
                  upper: bool) -> tuple[int, Failure | None] | None:
    """Over ``states`` and the link's ``directions``: the earliest crossing and its state."""
    best: tuple[int, Failure | None] | None = None
    for f in states:
        rows = routing.matrix(f)[list(directions)]
        end = stop if best is None else best[0]
        k = first_crossing(fc, rows, limit_mbps, start, end, upper)
        if k is not None and (best is None or k < best[0]):
            best = (k, f)
    return best
