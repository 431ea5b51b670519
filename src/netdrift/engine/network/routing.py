"""IGP shortest-path routing with per-hop ECMP, as a sparse routing matrix.

Every router forwards a packet for destination ``t`` over all of its links that lie on a
shortest path to ``t`` (equal IGP cost within a relative tolerance) and splits the traffic
equally among those next hops, as OSPF / IS-IS do. The fraction of an origin-destination
pair's demand that crosses each link direction is therefore *not* the per-path equal split:
a router with two next hops gives each half, whatever lies behind them.

The routing matrix ``R`` (2L, P) maps demands to loads: ``loads[t] = R @ demands[t]``.
It is built per destination, for all pairs at once, by propagating node-visit fractions
hop by hop over the block-diagonal "next-hop" matrix of every destination's shortest-path
DAG (a handful of sparse products, no Python loop over pairs or nodes).

The simulator does not multiply by ``R`` itself: :class:`LoadPlan` gives the same loads by
pushing each destination's aggregated demand down its DAG one topological level at a time,
which costs about (destinations x DAG edges) per step instead of (pairs x path length)
(Kdl: about 1.8M instead of 16M multiply-adds per step).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Topology
from netdrift.engine.parallel import block_steps_for, run_in_threads

if TYPE_CHECKING:  # pragma: no cover
    from netdrift.engine.traffic.series import TrafficMatrixSeries

__all__ = ["Routing", "routing_matrix", "LoadPlan", "apply_routing", "peak_utilization", "all_pairs", "ECMP_RTOL",
           "block_steps_for", "run_in_threads"]

#: Two path costs are equal (ECMP) when they differ by at most this fraction.
ECMP_RTOL = 1e-9


@dataclass(frozen=True, eq=False)
class Routing:
    """Where each origin-destination pair's demand goes in one failure state.

    ``matrix``: CSR (2L, P), fraction of pair ``p``'s demand on link direction ``d``.
    ``unreachable``: (P,) bool, True where the pair has no path (or an endpoint is down);
    its demand is dropped. ``link_up`` (L,) and ``node_up`` (N,) are the state it was built for
    (a link touching a down node counts as down).
    """

    matrix: sp.csr_matrix
    unreachable: np.ndarray
    link_up: np.ndarray
    node_up: np.ndarray


def all_pairs(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (s, d) with s != d, row-major: (src, dst) index arrays."""
    s, d = np.nonzero(~np.eye(n_nodes, dtype=bool))
    return s.astype(np.int64), d.astype(np.int64)


def _state_masks(topology: Topology, link_up: np.ndarray | None,
                 node_up: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    n, m = len(topology.nodes), len(topology.links)
    lu = np.ones(m, dtype=bool) if link_up is None else np.asarray(link_up, dtype=bool).copy()
    nu = np.ones(n, dtype=bool) if node_up is None else np.asarray(node_up, dtype=bool).copy()
    if lu.shape != (m,):
        raise InputError("link_up", f"expected {m} entries (one per link), got shape {lu.shape}")
    if nu.shape != (n,):
        raise InputError("node_up", f"expected {n} entries (one per node), got shape {nu.shape}")
    if m:
        lu &= nu[topology.direction_src[0::2]] & nu[topology.direction_dst[0::2]]
    return lu, nu


def routing_matrix(topology: Topology, link_up: np.ndarray | None = None,
                   node_up: np.ndarray | None = None, src: np.ndarray | None = None,
                   dst: np.ndarray | None = None) -> Routing:
    """IGP shortest-path routing with per-hop ECMP for the pairs ``src[p] -> dst[p]``.

    Parameters
    ----------
    topology : Topology
        The network; ``Link.weight`` is the IGP metric (must be > 0).
    link_up, node_up : bool arrays (L,) and (N,), optional
        The failure state (default everything up). Links of a down node are down.
    src, dst : int arrays (P,), optional
        Node indices of each pair (default: every ordered pair, see :func:`all_pairs`).

    Returns
    -------
    Routing
        ``matrix`` CSR (2L, P) of demand fractions per link direction, ``unreachable`` (P,).

    Examples
    --------
    A square a-b-c-d-a with equal weights: a -> c has two equal-cost next hops.

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> nodes = tuple(Node(x, x) for x in "abcd")
    >>> links = tuple(Link(u + v, u, v, 100.0) for u, v in ("ab", "bc", "cd", "da"))
    >>> t = Topology("sq", nodes, links)
    >>> r = routing_matrix(t, src=np.array([0]), dst=np.array([2]))
    >>> r.matrix.toarray().ravel().tolist()  # ab a->b, ab b->a, bc b->c, ..., da a->d
    [0.5, 0.0, 0.5, 0.0, 0.0, 0.5, 0.0, 0.5]
    >>> r = routing_matrix(t, link_up=np.array([True, False, True, False]),
    ...                    src=np.array([0]), dst=np.array([2]))
    >>> bool(r.unreachable[0])
    True
    """
    dag = _build_dag(topology, link_up, node_up, src, dst)
    return _routing_from_dag(dag)


@dataclass(frozen=True, eq=False)
class _Dag:
    """Shortest-path DAG towards every destination used by the pairs.

    States are (target k, node a) numbered ``k * n + a``; edge ``e`` is link direction
    ``e_dir[e]`` taken from state ``e_from[e]`` to ``e_to[e]`` with ``e_share[e]`` of the flow.
    Edges are sorted by ``e_from`` (ties by direction index).
    """

    n: int
    n_dir: int
    src: np.ndarray
    dst: np.ndarray
    link_up: np.ndarray
    node_up: np.ndarray
    unreachable: np.ndarray
    routed: np.ndarray
    targets: np.ndarray
    tinv: np.ndarray
    e_dir: np.ndarray
    e_from: np.ndarray
    e_to: np.ndarray
    e_share: np.ndarray


def _build_dag(topology: Topology, link_up: np.ndarray | None, node_up: np.ndarray | None,
               src: np.ndarray | None, dst: np.ndarray | None) -> _Dag:
    n = len(topology.nodes)
    n_dir = topology.n_directions
    if src is None or dst is None:
        src, dst = all_pairs(n)
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    if src.shape != dst.shape or src.ndim != 1:
        raise InputError("src/dst", "must be 1-D index arrays of equal length")
    if len(src) and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise InputError("src/dst", f"node index outside 0..{n - 1}")
    lu, nu = _state_masks(topology, link_up, node_up)
    n_pairs = len(src)

    w = topology.direction_weight
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        lid = topology.links[int(np.flatnonzero(bad)[0]) // 2].id
        raise InputError(f"link '{lid}'", "IGP weight must be a positive finite number")

    dsrc, ddst = topology.direction_src, topology.direction_dst
    up_idx = np.flatnonzero(np.repeat(lu, 2))

    # Distances to every destination of the pairs (only those: a sweep re-routes a few), by
    # Dijkstra from each destination on the reversed up graph; parallel links keep their
    # cheapest weight.
    key = ddst[up_idx] * n + dsrc[up_idx]
    order = np.lexsort((w[up_idx], key))
    ukey, first = np.unique(key[order], return_index=True)
    g_rev = sp.csr_matrix((w[up_idx][order][first], (ukey // n, ukey % n)), shape=(n, n))
    ends_up = nu[src] & nu[dst] if n_pairs else np.zeros(0, bool)
    wanted = np.unique(dst[ends_up & (src != dst)])
    to_dst = dijkstra(g_rev, directed=True, indices=wanted) if len(wanted) else np.zeros((0, n))
    to_dst = to_dst.reshape(len(wanted), n)        # to_dst[k, a] = dist(a -> wanted[k])

    reach = ends_up.copy()
    other = ends_up & (src != dst)
    reach[other] = np.isfinite(to_dst[np.searchsorted(wanted, dst[other]), src[other]])
    routed = reach & (src != dst)
    targets, tinv = np.unique(dst[routed], return_inverse=True)
    empty = np.zeros(0, dtype=np.int64)
    if len(targets) == 0 or len(up_idx) == 0:
        return _Dag(n, n_dir, src, dst, lu, nu, ~reach, routed, targets, tinv,
                    empty, empty, empty, np.zeros(0))

    # Direction a->b is a next hop of a towards t when w + dist(b,t) == dist(a,t) (within
    # tolerance) and b is strictly closer, which keeps every DAG acyclic.
    # Directions ordered by their tail node and target-major: edges come out sorted by state.
    up_idx = up_idx[np.argsort(dsrc[up_idx], kind="stable")]
    dist_t = to_dst[np.searchsorted(wanted, targets)]   # (K, N)
    ds = dist_t[:, dsrc[up_idx]]                         # (K, U)
    dd = dist_t[:, ddst[up_idx]]
    with np.errstate(invalid="ignore"):  # inf - inf where a node cannot reach the target
        on = np.isfinite(ds) & (dd < ds) & (w[up_idx][None, :] + dd - ds <= ECMP_RTOL * ds)
    ti, ui = np.nonzero(on)
    e_dir = up_idx[ui]
    e_from = ti * n + dsrc[e_dir]
    e_to = ti * n + ddst[e_dir]
    outdeg = np.bincount(e_from, minlength=len(targets) * n)
    return _Dag(n, n_dir, src, dst, lu, nu, ~reach, routed, targets, tinv,
                e_dir, e_from, e_to, 1.0 / outdeg[e_from])


def _routing_from_dag(dag: _Dag) -> Routing:
    n, n_dir, n_pairs = dag.n, dag.n_dir, len(dag.src)
    nk = len(dag.targets) * n
    if len(dag.e_dir) == 0:
        return Routing(sp.csr_matrix((n_dir, n_pairs), dtype=np.float64),
                       dag.unreachable, dag.link_up, dag.node_up)
    # Out-edges of each state (target k, node a): _build_dag gives them grouped by state.
    ptr = np.zeros(nk + 1, dtype=np.int64)
    np.cumsum(np.bincount(dag.e_from, minlength=nk), out=ptr[1:])
    e_to, e_dir, e_share = dag.e_to, dag.e_dir, dag.e_share

    # Node-visit fractions as (pair, state, fraction) entries: start at (target, source) with 1,
    # push along next hops until every pair has arrived, summing the levels (a node can be
    # reached at several hop counts). Each level costs what it moves (plain array work, no
    # allocation of the size of the state space).
    rows: np.ndarray = np.flatnonzero(dag.routed)
    state: np.ndarray = dag.tinv * n + dag.src[rows]
    val: np.ndarray = np.ones(len(rows))
    out_p, out_d, out_v = [], [], []
    for _ in range(n):
        cnt = ptr[state + 1] - ptr[state]
        total = int(cnt.sum())
        if total == 0:
            break
        eidx = np.repeat(ptr[state] - np.cumsum(cnt) + cnt, cnt) + np.arange(total)
        r = np.repeat(rows, cnt)
        v = np.repeat(val, cnt) * e_share[eidx]
        out_p.append(r)
        out_d.append(e_dir[eidx])
        out_v.append(v)
        key, inv = np.unique(r * nk + e_to[eidx], return_inverse=True)
        val = np.bincount(inv.ravel(), weights=v, minlength=len(key))
        rows, state = key // nk, key % nk
    frac = sp.csr_matrix((np.concatenate(out_v), (np.concatenate(out_d), np.concatenate(out_p))),
                         shape=(n_dir, n_pairs))  # duplicates summed, indices sorted
    return Routing(frac, dag.unreachable, dag.link_up, dag.node_up)


class LoadPlan:
    """Fast demand -> load evaluation for one failure state (what the simulator caches).

    Gives the same loads as ``routing_matrix(...).matrix @ demands`` but cheaper: instead of
    one column per pair (pairs x path length entries), the flow towards each destination is
    accumulated down that destination's shortest-path DAG, all destinations at once, one
    topological level at a time: state (destination, node) at level h pulls the demand
    injected there plus its upstream neighbours' shares. Work per step is about
    (destinations x DAG edges). A step's result does not depend on which other steps are
    computed with it (every value is summed in a fixed order), so recomputing a range gives
    identical bits.

    Examples
    --------
    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> nodes = tuple(Node(x, x) for x in "abcd")
    >>> links = tuple(Link(u + v, u, v, 100.0) for u, v in ("ab", "bc", "cd", "da"))
    >>> plan = LoadPlan(Topology("sq", nodes, links), src=np.array([0]), dst=np.array([2]))
    >>> loads, dropped = plan.apply(np.array([[8.0]]))
    >>> loads.tolist(), dropped.tolist()
    ([[4.0, 0.0, 4.0, 0.0, 0.0, 4.0, 0.0, 4.0]], [0.0])
    """

    def __init__(self, topology: Topology, link_up: np.ndarray | None = None,
                 node_up: np.ndarray | None = None, src: np.ndarray | None = None,
                 dst: np.ndarray | None = None, dag: _Dag | None = None) -> None:
        # ``dag``: the shortest-path DAG of that state and those pairs when the caller has it.
        dag = dag if dag is not None else _build_dag(topology, link_up, node_up, src, dst)
        self._dag = dag
        self._routing: Routing | None = None
        self.unreachable: np.ndarray = dag.unreachable
        self.link_up: np.ndarray = dag.link_up
        self.node_up: np.ndarray = dag.node_up
        self.n_pairs = n_pairs = len(dag.src)
        self.n_directions = n_dir = dag.n_dir
        pair_idx = np.flatnonzero(dag.routed)
        inj_state = dag.tinv * dag.n + dag.src[pair_idx]

        # States are (destination, node) pairs that forward flow (destinations themselves
        # only absorb, so they need no row). Order them by topological level (Kahn) so each
        # level is one contiguous block whose upstream states all come before it.
        lut = np.zeros(len(dag.targets) * dag.n, dtype=bool)
        lut[dag.e_from] = True
        states = np.flatnonzero(lut)
        n_states = len(states)
        lut_idx = np.full(len(lut), -1, dtype=np.int64)
        lut_idx[states] = np.arange(n_states)
        e_from = lut_idx[dag.e_from]
        e_to = lut_idx[dag.e_to]
        inner = e_to >= 0
        level = np.full(n_states, -1, dtype=np.int64)
        by_from = np.argsort(e_from, kind="stable")
        out_ptr = np.concatenate([[0], np.cumsum(np.bincount(e_from, minlength=n_states))])
        indeg = np.bincount(e_to[inner], minlength=n_states)
        frontier = np.flatnonzero(indeg == 0)
        mark = np.zeros(n_states, dtype=bool)
        h = 0
        while len(frontier):
            level[frontier] = h
            cnt = out_ptr[frontier + 1] - out_ptr[frontier]
            base = np.repeat(out_ptr[frontier] - np.cumsum(cnt) + cnt, cnt)
            hit = e_to[by_from[base + np.arange(int(cnt.sum()))]]
            hit = hit[hit >= 0]
            indeg -= np.bincount(hit, minlength=n_states)
            done = hit[indeg[hit] == 0]
            mark[done] = True
            frontier = np.flatnonzero(mark)
            mark[frontier] = False
            h += 1
        if (level < 0).any():  # cannot happen: distances strictly decrease along next hops
            raise RuntimeError("routing DAG has a cycle")
        # Within a level, rows follow pair order so the injection reads demands sequentially.
        first_pair = np.full(n_states, n_pairs, dtype=np.int64)
        np.minimum.at(first_pair, lut_idx[inj_state], pair_idx)
        order = np.lexsort((first_pair, level))
        pos = np.empty(n_states, dtype=np.int64)
        pos[order] = np.arange(n_states)
        bounds = np.searchsorted(level[order], np.arange(h + 1))

        f_pos = pos[e_from]
        t_pos = np.where(inner, pos[np.maximum(e_to, 0)], -1)
        i_pos = pos[lut_idx[inj_state]]
        i_ord = np.argsort(i_pos, kind="stable")
        i_cut = np.searchsorted(i_pos[i_ord], bounds)
        t_ord = np.argsort(t_pos, kind="stable")
        t_cut = np.searchsorted(t_pos[t_ord], bounds)
        self._levels: list[tuple[int, int, "sp.csr_matrix | np.ndarray", sp.csr_matrix | None]] = []
        for lv in range(h):
            lo, hi = int(bounds[lv]), int(bounds[lv + 1])
            sel = i_ord[i_cut[lv]:i_cut[lv + 1]]
            inj = sp.csr_matrix((np.ones(len(sel)), (i_pos[sel] - lo, pair_idx[sel])),
                                shape=(hi - lo, n_pairs))
            esel = t_ord[t_cut[lv]:t_cut[lv + 1]]
            pull = None
            if len(esel):
                pull = sp.csr_matrix((dag.e_share[esel], (t_pos[esel] - lo, f_pos[esel])),
                                     shape=(hi - lo, lo))
            # Usually each state takes exactly one pair's demand: then a row gather does it.
            take = inj.indices if inj.nnz == hi - lo and (np.diff(inj.indptr) == 1).all() else None
            self._levels.append((lo, hi, inj if take is None else take, pull))
        # CSC: the emission walks the flow rows in order and scatters into the small output.
        self._emit = sp.csc_matrix((dag.e_share, (dag.e_dir, f_pos)), shape=(n_dir, n_states))
        lost = np.flatnonzero(dag.unreachable)
        self._lost = sp.csr_matrix((np.ones(len(lost)), (np.zeros(len(lost), dtype=np.int64), lost)),
                                   shape=(1, n_pairs))
        self.n_states = n_states
        self._cast: dict[np.dtype, tuple] = {}

    def routing(self) -> Routing:
        """The equivalent :class:`Routing` (per-pair routing matrix), built on first use."""
        if self._routing is None:
            self._routing = _routing_from_dag(self._dag)
        return self._routing

    def _mats(self, dtype: np.dtype) -> tuple:
        if dtype not in self._cast:
            self._cast[dtype] = (
                self._emit.astype(dtype), self._lost.astype(dtype),
                [(lo, hi, inj if isinstance(inj, np.ndarray) else inj.astype(dtype),
                  None if p is None else p.astype(dtype))
                 for lo, hi, inj, p in self._levels])
        return self._cast[dtype]

    def apply_pair_major(self, x: np.ndarray, flow: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Loads (2L, c) and dropped (c,) for pair-major demands ``x`` (P, c), in x's dtype.

        ``flow`` is an optional scratch array of at least (n_states, c) of that dtype.
        """
        emit, lost, levels = self._mats(x.dtype)
        c = x.shape[1]
        if flow is None or flow.shape[0] < self.n_states or flow.shape[1] != c:
            flow = np.empty((self.n_states, c), dtype=x.dtype)
        for lo, hi, inj, pull in levels:
            if isinstance(inj, np.ndarray):
                np.take(x, inj, axis=0, out=flow[lo:hi])
            else:
                flow[lo:hi] = inj @ x
            if pull is not None:
                flow[lo:hi] += pull @ flow[:lo]
        return emit @ flow[:self.n_states], (lost @ x)[0]

    def apply(self, demands: np.ndarray, dtype: np.dtype | type | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """Loads (c, 2L) and dropped demand (c,) for demands (c, P), computed in ``dtype``.

        ``dtype`` defaults to the demands' float type. NaN demands propagate.
        """
        demands = np.asarray(demands)
        dt = np.dtype(dtype) if dtype is not None else (
            demands.dtype if demands.dtype in (np.float32, np.float64) else np.dtype(np.float64))
        loads, dropped = self.apply_pair_major(np.ascontiguousarray(demands.T, dtype=dt))
        return loads.T, dropped

    def apply_into(self, demands: np.ndarray, loads_out: np.ndarray, dropped_out: np.ndarray,
                   start: int = 0, stop: int | None = None, dtype: np.dtype | type = np.float32,
                   workers: int | None = None,
                   progress: Callable[[int], None] | None = None) -> None:
        """Fill ``loads_out[start:stop]`` (T, 2L) and ``dropped_out[start:stop]`` (T,).

        ``demands`` is (T, P). Works in blocks of steps, each transposed to pair-major into a
        reused per-thread buffer (fresh memory costs page faults), on ``workers`` threads
        (default: CPU count; the sparse kernels release the GIL). A step whose demands are
        all NaN (missing interval) gets NaN loads and NaN dropped; isolated NaN demands in a
        present step count as 0. ``progress(n_steps_done)`` is called from the calling thread
        after each block.
        """
        stop = demands.shape[0] if stop is None else stop
        c = block_steps_for(self.n_pairs)
        dt = np.dtype(dtype)
        blocks = [(a, min(a + c, stop)) for a in range(start, stop, c)]
        local = threading.local()

        def run(block: tuple[int, int]) -> int:
            a, b = block
            if not hasattr(local, "x"):
                local.x = np.empty((self.n_pairs, c), dtype=dt)
                local.flow = np.empty((self.n_states, c), dtype=dt)
            x = local.x if b - a == c else np.empty((self.n_pairs, b - a), dtype=dt)
            flow = local.flow if b - a == c else None
            np.copyto(x, demands[a:b].T, casting="same_kind")
            loads, dropped = self.apply_pair_major(x, flow)
            loads_out[a:b] = loads.T
            dropped_out[a:b] = dropped
            bad = np.isnan(loads_out[a:b]).any(axis=1) | np.isnan(dropped_out[a:b])
            for i in np.flatnonzero(bad):
                row = demands[a + i]
                nan = np.isnan(row)
                if nan.all():
                    loads_out[a + i] = np.nan
                    dropped_out[a + i] = np.nan
                else:
                    l1, d1 = self.apply(np.where(nan, 0.0, row)[None, :], dt)
                    loads_out[a + i] = l1[0]
                    dropped_out[a + i] = d1[0]
            return b - a

        run_in_threads(run, blocks, workers, progress)


def apply_routing(matrix: sp.csr_matrix, demands: np.ndarray, out: np.ndarray | None = None,
                  chunk: int = 64) -> np.ndarray:
    """Loads (T, 2L) = demands (T, P) routed by ``matrix`` (2L, P), in ``demands``' float type.

    Works in blocks of ``chunk`` steps so each block's transposed demands stay in cache; each
    output value is summed in the same order whatever the block, so results do not depend on
    which steps are computed together (recomputing a range gives identical bits).
    NaN demands propagate (callers mask missing steps).
    """
    demands = np.asarray(demands)
    if demands.dtype not in (np.float32, np.float64):
        demands = demands.astype(np.float64)
    n_steps = demands.shape[0]
    mat = matrix.astype(demands.dtype) if matrix.dtype != demands.dtype else matrix
    if out is None:
        out = np.empty((n_steps, mat.shape[0]), dtype=demands.dtype)
    for a in range(0, n_steps, chunk):
        b = min(a + chunk, n_steps)
        block = np.ascontiguousarray(demands[a:b].T)          # (P, c)
        out[a:b] = (mat @ block).T
    return out


def peak_utilization(topology: Topology, traffic: "TrafficMatrixSeries") -> float:
    """Largest load / capacity over all steps and link directions with everything up.

    Missing (NaN) steps are ignored. Returns 0.0 when no demand crosses any link.

    >>> from datetime import datetime
    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> from netdrift.engine.traffic.series import TrafficMatrixSeries
    >>> t = Topology("ab", (Node("a", "a"), Node("b", "b")), (Link("ab", "a", "b", 100.0),))
    >>> tm = TrafficMatrixSeries(("a", "b"), np.array([0, 1]), np.array([1, 0]),
    ...                          np.array([[30.0, 10.0], [np.nan, np.nan], [50.0, 5.0]]),
    ...                          5.0, datetime(2024, 1, 1))
    >>> peak_utilization(t, tm)
    0.5
    """
    plan = LoadPlan(topology, src=traffic.src, dst=traffic.dst)
    loads = np.empty((traffic.steps, topology.n_directions), dtype=np.float64)
    plan.apply_into(traffic.demands, loads, np.empty(traffic.steps), dtype=np.float32)
    if loads.size == 0:
        return 0.0
    util = loads / topology.direction_capacity[None, :]
    with np.errstate(invalid="ignore"):
        m = np.nanmax(util) if not np.isnan(util).all() else np.nan
    return 0.0 if np.isnan(m) else float(m)
