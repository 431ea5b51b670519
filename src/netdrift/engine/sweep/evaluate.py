"""One failure state's loads over the window (full or incremental re-routing), and the workers
that run a sweep's failures (forked processes, else threads). See :mod:`netdrift.engine.sweep`."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp

from netdrift.engine.network.routing import LoadPlan, routing_matrix, run_in_threads
from netdrift.engine.network.topology import Topology
from netdrift.engine.sweep.failures import Failure
from netdrift.engine.traffic.series import TrafficMatrixSeries

__all__ = ["estimate_bytes", "routing_entries_per_pair"]

#: Peak bytes per entry of the no-failure per-pair routing matrix while the sweeper builds it
#: (the routing's build and its CSR / float32 CSC copies), by peak RSS: 62.8 on Kdl (15.9 M
#: entries, 28 per pair), 51.7 on Cogentco (0.49 M entries).
ROUTING_BYTES_PER_ENTRY = 64.0
#: Bytes per failure of the sweep's results, kept to the end and stored: its row (a dict of
#: about 1.5 KB with its 20-pair sample of cut pairs) and its share of the record's JSON and of
#: the copies made while storing it. Measured by peak RSS of `netdrift sweep` (12 steps, stored):
#: Cogentco link pairs (29,403 failures, 299.6 MB) against Cogentco links (245, 148.5 MB):
#: 5.3 KB per failure; rounded up for rows with more overloaded directions than these had.
ROW_BYTES = 6000.0
#: Pairs routed to measure :func:`routing_entries_per_pair`.
ROUTING_SAMPLE = 2000


def _block_steps(n_pairs: int, window: int) -> int:
    return int(max(8, min(window, 16_000_000 // max(n_pairs, 1))))


def estimate_bytes(n_pairs: int, n_directions: int, window: int, n_failures: int, workers: int,
                   n_nodes: int = 0, incremental: bool = True, entries_per_pair: float | None = None) -> float:
    """Memory a sweep still needs once its traffic and failure set exist: the window's demands
    (float32, pair-major), per worker the scratch of one block (demands gathered + flow,
    float32) and its loads, the per-failure results (:data:`ROW_BYTES` each), and for the
    incremental path the no-failure per-pair routing matrix (``entries_per_pair`` entries per
    pair, as :func:`routing_entries_per_pair` measures them; default 1.5 sqrt(nodes), an
    over-estimate on the bundled backbones) at :data:`ROUTING_BYTES_PER_ENTRY` while it is built.

    >>> round(estimate_bytes(567_762, 1790, 12, 400_065, 1, 754, entries_per_pair=28.0) / 2**30, 2)  # Kdl pairs
    3.26
    """
    c = _block_steps(n_pairs, window)
    per_pair = entries_per_pair if entries_per_pair is not None else 1.5 * max(n_nodes, 1) ** 0.5
    routing = ROUTING_BYTES_PER_ENTRY * n_pairs * per_pair if incremental else 0.0
    return (4.0 * n_pairs * window + workers * (2 * 4.0 * n_pairs * c + 16.0 * n_directions * window)
            + n_failures * ROW_BYTES + 8.0 * n_directions * 4 + routing)


def routing_entries_per_pair(topology: Topology, src: np.ndarray, dst: np.ndarray,
                             sample: int = ROUTING_SAMPLE, seed: int = 0) -> float:
    """Mean entries per pair of the no-failure routing matrix (the link directions its ECMP
    routes cross), measured on ``sample`` pairs drawn at random (all when fewer): what the
    incremental sweeper's routing will hold, known before it is built (Kdl: 28.0 measured on
    all 567,762 pairs).

    >>> from netdrift.engine.network.loaders import load_topology
    >>> from netdrift.engine.network.routing import all_pairs
    >>> t = load_topology("abilene")
    >>> s, d = all_pairs(len(t.nodes))
    >>> 1.0 <= routing_entries_per_pair(t, s, d) <= t.n_directions
    True
    """
    src, dst = np.asarray(src), np.asarray(dst)
    if not len(src):
        return 0.0
    pick = np.arange(len(src))
    if len(src) > sample:
        pick = np.sort(np.random.default_rng(seed).choice(len(src), sample, replace=False))
    r = routing_matrix(topology, src=src[pick], dst=dst[pick])
    return float(r.matrix.nnz) / len(pick)


def _window(traffic: TrafficMatrixSeries, start: int, stop: int, c: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Pair-major float32 blocks (P, c) of the window's demands; a step whose demands are all
    NaN (missing interval) stays NaN, isolated NaN demands count as 0 (as the simulator does)."""
    d = np.asarray(traffic.demands[start:stop])
    missing = np.isnan(d).all(axis=1) if d.shape[1] else np.zeros(len(d), bool)
    blocks = []
    for a in range(0, len(d), c):
        x = np.ascontiguousarray(np.nan_to_num(d[a:a + c].T, nan=0.0), dtype=np.float32)
        blocks.append(x)
    return blocks, missing


class _Sweeper:
    """What every failure of a sweep shares: the window's demands (pair-major float32 blocks),
    the no-failure routing, loads and worst case, and (incremental) the per-pair routing. Built
    once; forked workers inherit it and Ray tasks get one copy through the object store."""

    def __init__(self, topology: Topology, traffic: TrafficMatrixSeries, start: int, stop: int,
                 incremental: bool) -> None:
        self.t = topology
        self.src, self.dst = np.asarray(traffic.src), np.asarray(traffic.dst)
        self.n_pairs = len(self.src)
        self.window = stop - start
        self.c = _block_steps(self.n_pairs, self.window)
        self.blocks, self.missing = _window(traffic, start, stop, self.c)
        self.cap = topology.direction_capacity.astype(np.float64)
        self.incremental = incremental
        self.base = LoadPlan(topology, src=self.src, dst=self.dst)
        self.base_loads, self.base_dropped = self._apply(self.base, None)
        self.base_worst = self.worst(self.base_loads, self.cap)
        if incremental:
            # Per-pair routing without failure: rows give the pairs crossing each direction,
            # columns each pair's fractions (float32, as the loads).
            rm = self.base.routing().matrix
            self._by_dir = rm.tocsr()
            self._by_pair = rm.tocsc().astype(np.float32)

    def add_radius(self, radius: np.ndarray) -> None:
        """Sweep upper bounds: ``radius`` (W, 2L) Mbit/s added to the no-failure loads, hence to
        every failure state's (the change a failure makes is added to them)."""
        self.base_loads = self.base_loads + np.asarray(radius, dtype=np.float32)
        self.base_worst = self.worst(self.base_loads, self.cap)

    def _apply(self, plan: LoadPlan, sel: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Loads (W, 2L) float32 and dropped (W,) float64 of the window for ``plan`` (built on
        the pairs ``sel``, or all)."""
        loads = np.empty((self.window, self.t.n_directions), dtype=np.float32)
        dropped = np.empty(self.window, dtype=np.float64)
        flow = None
        for i, x in enumerate(self.blocks):
            a = i * self.c
            xs = x if sel is None else np.take(x, sel, axis=0)
            if flow is None or flow.shape[1] != xs.shape[1]:
                flow = np.empty((plan.n_states, xs.shape[1]), dtype=np.float32)
            ld, dr = plan.apply_pair_major(xs, flow)
            loads[a:a + xs.shape[1]] = ld.T
            dropped[a:a + xs.shape[1]] = dr
        return loads, dropped

    def _selected(self, link_up: np.ndarray) -> np.ndarray:
        """The pairs whose no-failure routes cross a failed link (pairs at a failed node
        cross one of its links)."""
        down = np.flatnonzero(~np.repeat(link_up, 2))
        R = self._by_dir
        parts = [R.indices[R.indptr[d]:R.indptr[d + 1]] for d in down]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def delta(self, f: Failure) -> dict[str, Any]:
        """What failure ``f`` changes against the no-failure state: the re-routed pairs ``sel``,
        ``delta`` CSR (2L, len(sel)) float32 = new - old fractions, ``newly`` (len(sel),) the
        pairs it makes unreachable, ``unreach`` (P,) and ``node_up`` (N,). Needs the per-pair
        routing (incremental sweeper)."""
        link_up, node_up = f.state(self.t)
        sel = self._selected(link_up)
        unreach = self.base.unreachable
        if not len(sel):
            delta = sp.csr_matrix((self.t.n_directions, 0), dtype=np.float32)
            return {"sel": sel, "delta": delta, "newly": np.zeros(0, bool), "unreach": unreach, "node_up": node_up}
        after = routing_matrix(self.t, link_up, node_up, self.src[sel], self.dst[sel])
        delta = (after.matrix.astype(np.float32) - self._by_pair[:, sel]).tocsr()
        delta.eliminate_zeros()
        newly = after.unreachable & ~unreach[sel]
        unreach = unreach.copy()
        unreach[sel] = after.unreachable
        return {"sel": sel, "delta": delta, "newly": newly, "unreach": unreach, "node_up": node_up}

    def worst(self, loads: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per column of ``loads`` (W, k): the worst utilisation and its window position
        (missing steps and non-finite values never count; -inf where nothing counts)."""
        if self.missing.any():
            loads = np.where(self.missing[:, None], np.nan, loads)
        util = loads / cap[None, :]
        u = np.where(np.isfinite(util), util, -np.inf)
        k = u.shape[1]
        if not len(u):
            return np.full(k, -np.inf), np.zeros(k, np.int64)
        wstep = np.argmax(u, axis=0)
        return u[wstep, np.arange(k)], wstep

    def incremental_worst(self, d: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Worst utilisation and step per direction, and dropped demand per step, under a failure
        from its :meth:`delta`. Only the directions whose routing fractions change are
        recomputed (no-failure loads + delta @ demands, clipped at 0, in float32, block by
        block); the others keep their no-failure worst case."""
        sel, delta, newly = d["sel"], d["delta"], d["newly"]
        wutil, wstep = self.base_worst[0].copy(), self.base_worst[1].copy()
        dropped = self.base_dropped.copy()
        if len(sel):
            touched = np.flatnonzero(np.diff(delta.indptr))
            dt = delta[touched]
            loads = np.empty((self.window, len(touched)), dtype=np.float32)
            for i, x in enumerate(self.blocks):
                a = i * self.c
                xs = np.take(x, sel, axis=0)
                loads[a:a + xs.shape[1]] = self.base_loads[a:a + xs.shape[1], touched] + (dt @ xs).T
                if newly.any():
                    dropped[a:a + xs.shape[1]] += xs[newly].sum(axis=0, dtype=np.float64)
            np.maximum(loads, 0.0, out=loads)
            wutil[touched], wstep[touched] = self.worst(loads, self.cap[touched])
        if self.missing.any():
            dropped = np.where(self.missing, np.nan, dropped)
        return wutil, wstep, dropped

    def run_one(self, f: Failure) -> dict[str, Any]:
        if self.incremental:
            d = self.delta(f)
            wutil, wstep, dropped = self.incremental_worst(d)
            return self.summary(wutil, wstep, dropped, d["unreach"], d["node_up"])
        link_up, node_up = f.state(self.t)
        plan = LoadPlan(self.t, link_up, node_up, self.src, self.dst)
        loads, dropped = self._apply(plan, None)
        if self.missing.any():
            dropped = np.where(self.missing, np.nan, dropped)
        wutil, wstep = self.worst(loads, self.cap)
        return self.summary(wutil, wstep, dropped, plan.unreachable, node_up)

    def summary(self, wutil: np.ndarray, wstep: np.ndarray, dropped: np.ndarray, unreach: np.ndarray,
                node_up: np.ndarray) -> dict[str, Any]:
        """One failure's result from its per-direction worst utilisation and step (window
        positions), its dropped demand per step and its unreachable pairs."""
        ends_up = node_up[self.src] & node_up[self.dst]
        cut = unreach & ends_up & ~self.base.unreachable
        return {"util": wutil, "step": wstep, "load": wutil * self.cap, "dropped": dropped,
                "cut": np.flatnonzero(cut), "lost_endpoint": int((~ends_up).sum())}


_SHARED: "_Sweeper | None" = None


def _run_shared(i: int, f: Failure, method: str) -> tuple[int, dict[str, Any]]:
    assert _SHARED is not None
    return i, getattr(_SHARED, method)(f)


def _run(sw: "_Sweeper", fl: Sequence[Failure], workers: int, record: Callable, processes: bool | None,
         method: str = "run_one") -> None:
    """Each failure through ``sw.<method>`` (``run_one``: its summary; ``delta``: what it changes),
    results ``(index, result)`` to ``record`` in failure order."""
    import multiprocessing as mp

    if processes is None:
        processes = workers > 1 and len(fl) >= 4 * workers and "fork" in mp.get_all_start_methods()
    if not processes:
        fn = getattr(sw, method)
        run_in_threads(lambda i: (i, fn(fl[i])), range(len(fl)), workers, record)
        return
    from concurrent.futures import ProcessPoolExecutor

    global _SHARED
    _SHARED = sw  # inherited by the forked workers (copy-on-write), never pickled
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            chunk = max(1, min(16, len(fl) // (8 * workers)))
            for res in pool.map(_run_shared, range(len(fl)), fl, [method] * len(fl), chunksize=chunk):
                record(res)
    finally:
        _SHARED = None
