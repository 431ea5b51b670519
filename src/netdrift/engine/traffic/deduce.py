"""Demand deduction: the traffic matrix behind measured link loads, step by step.

Only the per-direction loads ``y`` (2L,) of a :class:`LinkLoadSeries` are known (interface
counters on the core links; no edge counters, no flow export). At every step the demands ``x``
(P,) are estimated in two parts:

1. **A prior** ``p``: a gravity model ``p[od] = out[o] * in[d] / sum(out)`` scaled so that its
   routed loads add up to the measured ones.
2. **The link loads as constraints**: the demands closest to the prior in the weighted norm
   ``sum (x - p)^2 / p`` that reproduce every measured load, ``x = p + P A^T (A P A^T + lam I)^-1
   (y - A p)`` with ``P = diag(p)`` and ``A`` the routing matrix in force (per-hop ECMP), as in
   :mod:`netdrift.engine.traffic.tomogravity`; negatives are clipped to 0 and the correction is
   repeated from the clipped estimate (weights = the estimate, so a zero stays zero) until every
   load is reproduced within :data:`FIT_TOLERANCE` of itself, or :data:`MAX_FITS` passes.
   A direction with no measurement at a step (NaN) is left out of that step's constraints; a
   step with none is a missing step (a NaN row).

The methods differ in the node totals behind the prior:

- ``"tomogravity"``: from the step's own loads only: ``out[n]`` / ``in[n]`` are the sums of the
  loads leaving / entering node ``n`` (transit included: the only totals the links tell without
  edge counters).
- ``"prior"`` (the default, a time-series method): a gravity model ``p[od] = e[o] * i[d]``
  *fitted to the link loads* (non-negative, in the I-divergence ``sum y log(y / Ap) - y + Ap``,
  by alternating multiplicative updates: :meth:`_Operator.fit_gravity`), carried from step to
  step: each step starts from the previous step's ``e, i`` and takes :data:`STEP_ALTERNATIONS`
  alternation (the first step :data:`FIRST_ALTERNATIONS`), so the fit accumulates over the series
  while following its changes (a fit from scratch at every step, alternating exact NNLS, did
  worse: 33 % instead of 19 % on GEANT seed 0). Transit no longer inflates a hub's totals: the
  model's routed loads, not its raw sums, must match the measurements. Measured on synthetic
  GEANT 2001 traffic (48 steps of 5 minutes, seeds 0-4) the median demand error is 30, 16, 10,
  20 and 19 % against 61, 38, 48, 35 and 56 % for ``"tomogravity"`` (the least-squares fit of
  the gravity model it replaced: 21, 25, 10, 20 and 50 %); on GEANT 2012 21, 28, 21, 20 and 23 %
  (tomogravity 65, 75, 100, 45, 65; least squares 22, 31, 24, 21, 23). bench/bench_deduce.py
  gives the figures for a day on GEANT and Cogentco, sine and backbone-like traffic, and
  bench/bench_deduce_sweep.py the sweep check of issue 20.

``"prior"`` also carries the estimates themselves (since wave 3, session 6): the prior of a step is
:data:`CARRY` of the previous step's estimate (rescaled to the step's loads) plus the rest of the
fitted gravity model (so that what the loads cannot tell decays back to gravity instead of being
kept for ever), and the change the loads show against that prior is first put on the single
pairs whose path explains it (:meth:`_Operator.attribute_changes`: a surge of one pair shows on
every link of its path at once; the identification of volume anomalies from link traffic of
Lakhina et al., SIGCOMM 2004, and the sparse "network anomography" of Zhang et al., IMC 2005),
at most :data:`MAX_CHANGES` pairs a step, each explaining at least :data:`CHANGE_SHARE` of the
squared residual left; the weighted correction spreads the rest as before. The worst
utilisation of a failure is a maximum over the day, so it falls on bursts, where a prior spread
by pair size is most wrong: on bench/bench_deduce_sweep.py's synthetic days (Abilene, GEANT 2001
and 2012, sine and the backbone proxy, 5 and 15 minutes) the largest difference of a failure's
worst utilisation fell from 5.3 to 4.6 % (median over 36 runs, seeds 0-2; 5.5 -> 4.1 % on the
held-out seeds 3-5), the demand error unchanged (30 %, 26 %). The three constants were chosen on
seeds 0-2 among 12 combinations (carry 0.7 / 0.9, share 0.2 / 0.3 / 0.5, 3 / 6 changes); every
combination but two did better than none.

What the link loads cannot tell: how a pair departs from the gravity model. A pair factor
``c[od]`` constant over a window, fitted to all the window's loads at once (``min sum_t ||A (c *
p_t) - y_t||``), or re-estimated from the window's projected estimates, changed nothing (17.5 ->
17.3 % on GEANT 2001 sine seed 1; the steps' gravity priors differ too little in shape to tell
the pair factors apart); nor did a prior from the second moments of the loads' step-to-step
changes (Vardi / Cao: the sample covariances of a day are too noisy: 17 -> 23-40 %).

A first version of ``"prior"`` fed the previous estimates' own node totals back as the next
prior (the fixed point of "estimate, take its totals, re-estimate"); it won on one GEANT seed
(21 %) and lost on four (48-69 %, worse than tomogravity): transit hubs' shares grew 20-fold.

The report gives per step the link fit (relative L2 of the routed estimate against the measured
loads, over the measured directions) and, when the true demands are given, the demand error
(relative L2 over pairs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.linalg as sl
import scipy.sparse as sp

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.routing import LoadPlan, all_pairs
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.link_loads import LinkLoadSeries
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.tomogravity import gravity_prior

__all__ = ["deduce_demands", "DeductionReport", "METHODS", "DEFAULT_METHOD", "FIT_TOLERANCE", "MAX_FITS",
           "FIRST_ALTERNATIONS", "STEP_ALTERNATIONS", "INNER_UPDATES", "CARRY", "CHANGE_SHARE", "MAX_CHANGES"]

#: The deduction methods, the default first.
METHODS = ("prior", "tomogravity")
DEFAULT_METHOD = "prior"
#: A step's loads count as reproduced when every direction is within this fraction of its load
#: (loads below 0.1 % of the step's largest count as 0.1 % of it).
FIT_TOLERANCE = 1e-3
#: Most factorisations per step (one, plus fresh weights when clipping negatives stalls the fit).
MAX_FITS = 3
#: Corrections per factorisation (the first, then re-fits of the clipped estimate).
_CHEAP_PASSES = 6
#: Alternations of the fitted gravity model ("prior") on its first step, then per step, and the
#: multiplicative updates of each side per alternation.
FIRST_ALTERNATIONS = 50
STEP_ALTERNATIONS = 1
INNER_UPDATES = 10
#: "prior": share of the previous step's estimate in a step's prior (the rest: the gravity fit).
CARRY = 0.7
#: "prior": a pair takes a change of the loads when its path explains at least this share of the
#: squared residual left, and at most this many pairs a step.
CHANGE_SHARE = 0.3
MAX_CHANGES = 3
#: Least weight of a reachable pair in the correction, relative to the mean estimate.
_WEIGHT_FLOOR = 1e-3
#: Largest K an operator builds (entries; building one takes ~40 bytes an entry for a moment). K
#: makes each factorisation one sparse product; past this (Kdl: 306 million entries, 21 GiB and
#: 2.5 minutes to build) the Gram matrix is a sparse product ``A diag(w) A^T`` per factorisation
#: instead (the same matrix; Cogentco's K has 4.5 million entries).
K_MAX_ENTRIES = 20_000_000
#: Routing states whose operators are kept while deducing (a failure and its restoration).
_STATES_KEPT = 3
#: Ridge on the diagonal of A P A^T, relative to its mean diagonal (as tomogravity's).
_LAMBDA_REL = 1e-6


@dataclass(frozen=True)
class DeductionReport:
    """Per step: ``link_fit`` (relative L2 misfit of the routed estimate over the measured
    directions; NaN for a missing step), ``demand_error`` (relative L2 against the true demands,
    when they were given) and the time spent."""

    method: str
    link_fit: np.ndarray
    demand_error: np.ndarray | None
    seconds: float
    times: np.ndarray = field(repr=False)

    @property
    def ms_per_step(self) -> float:
        return 1000.0 * self.seconds / max(len(self.link_fit), 1)

    def summary(self) -> dict[str, Any]:
        """Median / mean / max of the link fit (and the demand error), JSON-ready."""
        out: dict[str, Any] = {"method": self.method, "steps": int(len(self.link_fit)),
                               "missing_steps": int(np.isnan(self.link_fit).sum()),
                               "link_fit": _stats(self.link_fit), "ms_per_step": round(self.ms_per_step, 3)}
        if self.demand_error is not None:
            out["demand_error"] = _stats(self.demand_error)
        return out

    def per_step(self) -> list[dict[str, Any]]:
        """One dict per step: step, time, link_fit (and demand_error)."""
        rows = []
        for k, t in enumerate(self.times):
            row: dict[str, Any] = {"step": k, "time": str(t), "link_fit": _num(self.link_fit[k])}
            if self.demand_error is not None:
                row["demand_error"] = _num(self.demand_error[k])
            rows.append(row)
        return rows


def deduce_demands(topology: Topology, loads: LinkLoadSeries, method: str = DEFAULT_METHOD,
                   truth: TrafficMatrixSeries | None = None,
                   progress: Callable[[int, int], None] | None = None) -> tuple[TrafficMatrixSeries, DeductionReport]:
    """The demands (every ordered node pair, the topology's node order) behind ``loads``, and the
    report. See the module docstring for the methods. ``progress(done, total)`` is called before
    each step and once at the end (steps done, steps in all).

    A triangle: each pair has its own link, so the loads determine the demands.

    >>> from datetime import datetime
    >>> from netdrift.engine.network.topology import Node, Link
    >>> t = Topology("tri", tuple(Node(x, x) for x in "abc"),
    ...              tuple(Link(u + v, u, v, 100.0) for u, v in ("ab", "bc", "ca")))
    >>> y = np.array([[1.0, 3.0, 4.0, 6.0, 5.0, 2.0]])   # ab a->b, ab b->a, bc b->c, ...
    >>> tm, rep = deduce_demands(t, LinkLoadSeries(tuple(t.direction_names()), y, 5.0, datetime(2024, 1, 1)))
    >>> np.round(tm.demands[0], 3).tolist()              # a->b, a->c, b->a, b->c, c->a, c->b
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    """
    if method not in METHODS:
        raise InputError("deduce", f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if tuple(loads.directions) != tuple(topology.direction_names()):
        raise InputError(f"link loads '{loads.source}'", f"its directions are not those of topology '{topology.name}'")
    n = len(topology.nodes)
    src, dst = all_pairs(n)
    if truth is not None and (truth.steps != loads.steps or not np.array_equal(truth.src, src)
                              or not np.array_equal(truth.dst, dst)):
        raise InputError("truth", "must have the loads' steps and every ordered pair in the topology's node order")
    steps = loads.steps
    # The demands (float32) and, per routing state, A, A^T and their helpers (~60 bytes an entry),
    # and K's build (~40 bytes an entry, at most K_MAX_ENTRIES; K itself holds one entry of A in 3).
    nnz_guess = 12.0 * len(src) * max(1.0, np.log2(max(n, 2)))
    k_guess = min(float(K_MAX_ENTRIES), nnz_guess * max(1.0, np.log2(max(n, 2))))
    check_memory(f"demand deduction of {steps} steps x {len(src)} node pairs on '{topology.name}'",
                 4.0 * steps * len(src) + 8.0 * steps * loads.n_directions + 60.0 * nnz_guess + 40.0 * k_guess)
    y_all = np.asarray(loads.loads, dtype=np.float64)
    if np.isinf(y_all).any() or (y_all < 0).any():
        raise InputError(f"link loads '{loads.source}'", "loads must be finite numbers >= 0 (NaN marks a gap)")
    out = np.full((steps, len(src)), np.nan, dtype=np.float32)
    fit = np.full(steps, np.nan)
    t0 = time.perf_counter()
    ops: dict[bytes, _Operator] = {}
    factors: tuple[np.ndarray, np.ndarray] | None = None
    last: np.ndarray | None = None                     # the previous step's estimate ("prior")
    for t in range(steps):
        if progress is not None:
            progress(t, steps)
        y = y_all[t]
        rows = np.flatnonzero(np.isfinite(y))
        if not len(rows):
            continue
        up = None if loads.link_up is None else np.asarray(loads.link_up[t], dtype=bool)
        key = b"" if up is None or up.all() else np.packbits(up).tobytes()
        op = ops.pop(key, None) or _Operator(topology, up, src, dst)
        ops[key] = op                                  # the most recent last; a few states kept
        while len(ops) > _STATES_KEPT:
            ops.pop(next(iter(ops)))
        if method == "tomogravity" or factors is None:
            e = np.bincount(topology.direction_src[rows], y[rows], n)
            i = np.bincount(topology.direction_dst[rows], y[rows], n)
        else:
            e, i = factors
        if method == "prior":
            e, i = factors = op.fit_gravity(e, i, y, rows, FIRST_ALTERNATIONS if factors is None else STEP_ALTERNATIONS)
        p = op.prior(e, i, y, rows)
        if method == "prior" and last is not None:
            p = op.attribute_changes(op.scaled((1.0 - CARRY) * p + CARRY * op.scaled(last, y, rows), y, rows), y, rows)
        x = last = op.fit(p, y, rows)
        out[t] = x
        fit[t] = op.misfit(x, y, rows)
    seconds = time.perf_counter() - t0
    if progress is not None:
        progress(steps, steps)
    err = None
    if truth is not None:
        err = _relative_l2(out.astype(np.float64), np.asarray(truth.demands, dtype=np.float64))
    tm = TrafficMatrixSeries(tuple(nd.id for nd in topology.nodes), src, dst, out, loads.step_minutes, loads.start)
    return tm, DeductionReport(method, fit, err, seconds, loads.times())


# --- internals --------------------------------------------------------------------------------

class _Operator:
    """One routing state: A (2L, P), A^T and, up to :data:`K_MAX_ENTRIES`, K with
    ``upper(A diag(w) A^T) = K @ w``."""

    def __init__(self, topology: Topology, link_up: np.ndarray | None, src: np.ndarray, dst: np.ndarray) -> None:
        plan = LoadPlan(topology, link_up=link_up, src=src, dst=dst)
        a = sp.csc_matrix(plan.routing().matrix, dtype=np.float64)
        a.sum_duplicates()
        a.eliminate_zeros()
        a.sort_indices()
        self.a = a.tocsr()
        self.at = a.T.tocsr()
        self.src, self.dst = src, dst
        self.reachable = ~np.asarray(plan.unreachable, dtype=bool)
        self.d = a.shape[0]
        #: K (None past :data:`K_MAX_ENTRIES`: the Gram matrix is then a sparse product per factorisation).
        self.k: sp.csr_matrix | None = None
        self.k_flat = self.k_diag = np.zeros(0, dtype=np.int64)
        self._rows_cache: tuple[bytes, sp.csr_matrix, sp.csr_matrix] | None = None
        if k_entries(a) <= K_MAX_ENTRIES:
            self._build_k(a)
        coo = self.a.tocoo()
        self.coo_val, self.coo_src, self.coo_dst = coo.data, src[coo.col], dst[coo.col]
        n = int(max(src.max(initial=0), dst.max(initial=0))) + 1
        self.cell_src = coo.row.astype(np.int64) * n + self.coo_src    # (direction, origin) of each entry
        self.cell_dst = coo.row.astype(np.int64) * n + self.coo_dst    # (direction, destination)
        self.at_squared = self.at.multiply(self.at).tocsr()   # column norms over any set of rows

    def _build_k(self, a: sp.csc_matrix) -> None:
        """K: for every column p, all (i <= j) pairs of its nonzero rows, so that the upper triangle
        of ``A diag(w) A^T`` is ``K @ w`` (one sparse product a factorisation)."""
        d = self.d
        k = np.diff(a.indptr)
        nnz = a.nnz
        first = np.repeat(a.indptr[:-1], k)
        after = np.repeat(k, k) - (np.arange(nnz) - first)
        ia = np.repeat(np.arange(nnz), after)
        start = np.cumsum(after) - after
        ib = ia + (np.arange(len(ia)) - np.repeat(start, after))
        key = a.indices[ia].astype(np.int64) * d + a.indices[ib].astype(np.int64)
        keys, pos = np.unique(key, return_inverse=True)
        cols = np.repeat(np.arange(a.shape[1]), k * (k + 1) // 2)
        # float32: half the memory traffic of the step's largest product; the factor it gives is
        # only a preconditioner, the residuals that the passes correct are float64.
        self.k = sp.csr_matrix((a.data[ia] * a.data[ib], (pos.ravel(), cols)), shape=(len(keys), a.shape[1]),
                               dtype=np.float32)
        ki, kj = keys // d, keys % d
        self.k_flat = ki + kj * d                   # Fortran position of (ki, kj), ki <= kj: upper triangle
        self.k_diag = ki == kj

    def prior(self, egress: np.ndarray, ingress: np.ndarray, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Gravity from node totals, zero for unreachable pairs, scaled to the measured total."""
        return self.scaled(gravity_prior(np.maximum(egress, 0.0), np.maximum(ingress, 0.0), self.src, self.dst),
                           y, rows)

    def scaled(self, demands: np.ndarray, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``demands`` (a copy), zero for unreachable pairs, scaled so that their routed loads over
        the measured rows add up to the measured ones."""
        g = np.where(self.reachable, np.asarray(demands, dtype=np.float64), 0.0)
        routed = (self.a @ g)[rows].sum()
        return g * (y[rows].sum() / routed) if routed > 0 else g

    def fit_gravity(self, e: np.ndarray, i: np.ndarray, y: np.ndarray, rows: np.ndarray,
                    alternations: int) -> tuple[np.ndarray, np.ndarray]:
        """The gravity model ``e[src] i[dst]`` whose routed loads fit the measured rows in the
        I-divergence (Kullback-Leibler) sense, ``min sum y log(y / z) - y + z`` with
        ``z = A (e[src] i[dst])``, by alternation from ``e, i``: with ``i`` fixed the loads are
        ``M e`` for a (rows, N) matrix ``M``, and :data:`INNER_UPDATES` multiplicative (Lee-Seung)
        updates ``e *= M^T (y / M e) / M^T 1`` move ``e``; then the same for ``i``. (Least squares,
        ``e *= M^T y / M^T M e``, did worse on 20 of 24 held-out synthetic days: big links dominate
        it, and on sparse topologies the node totals absorb the pairs' departures from gravity.)"""
        n = len(e)
        e = np.asarray(e, dtype=np.float64) + 0.0
        i = np.asarray(i, dtype=np.float64) + 0.0
        yr = y[rows]
        for _ in range(alternations):
            for side in (0, 1):
                w = i[self.coo_dst] if side == 0 else e[self.coo_src]
                m = np.bincount(self.cell_src if side == 0 else self.cell_dst, self.coo_val * w,
                                self.d * n).reshape(self.d, n)[rows]
                colsum = np.maximum(m.sum(axis=0), 1e-300)
                v = e if side == 0 else i
                for _ in range(INNER_UPDATES):
                    v *= (m.T @ (yr / np.maximum(m @ v, 1e-300))) / colsum
            scale = np.sqrt(max(e.sum(), 1e-300) / max(i.sum(), 1e-300))     # e and i share the volume
            e /= scale
            i *= scale
        return e, i

    def attribute_changes(self, p: np.ndarray, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``p`` (a copy) with the loads' departure from it put on single pairs first: greedily, the
        pair whose routed column best explains the residual over the measured rows (least squares,
        one pair) takes it, while that explains at least :data:`CHANGE_SHARE` of the squared
        residual left and keeps the pair >= 0; at most :data:`MAX_CHANGES` pairs."""
        p = np.array(p, dtype=np.float64)
        measured = np.zeros(self.d)
        measured[rows] = 1.0
        norms = self.at_squared @ measured
        inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        r = np.zeros(self.d)
        r[rows] = y[rows] - (self.a @ p)[rows]
        for _ in range(MAX_CHANGES):
            dot = self.at @ r
            c = dot * inv
            gain = np.where(p + c >= 0.0, dot * c, 0.0)
            k = int(np.argmax(gain))
            if not gain[k] > 0.0 or gain[k] < CHANGE_SHARE * float(r @ r):
                break
            p[k] += c[k]
            lo, hi = self.at.indptr[k], self.at.indptr[k + 1]
            r[self.at.indices[lo:hi]] -= c[k] * self.at.data[lo:hi] * measured[self.at.indices[lo:hi]]
        return p

    def misfit(self, x: np.ndarray, y: np.ndarray, rows: np.ndarray) -> float:
        return _relative_l2((self.a @ x)[rows], y[rows])

    def fit(self, x: np.ndarray, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Weighted least-norm correction of ``x`` onto the measured loads, negatives clipped;
        then corrections of the clipped estimate with the same weights (one factorisation, each
        further pass two products and a triangular solve) until every load is reproduced; the
        weights are refreshed from the estimate when that stalls (:data:`MAX_FITS` factorisations)."""
        floor = 1e-3 * max(float(y[rows].max()), 1e-300)    # loads below 0.1 % of the largest count as that
        allowed = FIT_TOLERANCE * np.maximum(y[rows], floor)
        for _ in range(MAX_FITS):
            resid = y[rows] - (self.a @ x)[rows]
            if (np.abs(resid) <= allowed).all():
                break
            # Weights: the estimate, floored for reachable pairs so that a pair the prior (or a
            # clip) set to 0 can still take the load a direction needs.
            w = np.where(self.reachable, np.maximum(x, _WEIGHT_FLOOR * max(float(x.mean()), 1e-300)), 0.0)
            factor = self._factor(w, rows)
            if factor is None:                                   # nothing routed: nothing to correct
                break
            for _ in range(_CHEAP_PASSES):
                zf = np.zeros(self.d)
                zf[rows] = sl.cho_solve(factor, resid, check_finite=False)
                x = np.maximum(x + w * (self.at @ zf), 0.0)
                resid = y[rows] - (self.a @ x)[rows]
                if (np.abs(resid) <= allowed).all():
                    return x
        return x

    def _factor(self, w: np.ndarray, rows: np.ndarray) -> tuple | None:
        """Cholesky factor of A_rows diag(w) A_rows^T + ridge (None when it is all zero)."""
        if self.k is None:
            ar, art = self._measured(rows)
            scaled = ar.copy()
            scaled.data *= w[ar.indices].astype(np.float32)
            m = np.asfortranarray((scaled @ art).toarray(), dtype=np.float64)
            diag = float(np.trace(m))
            if not diag > 0:
                return None
        else:
            d = self.d
            mu = (self.k @ w.astype(np.float32)).astype(np.float64)
            diag = mu[self.k_diag].sum()
            if not diag > 0:
                return None
            m = np.zeros((d, d), order="F")
            m.ravel(order="F")[self.k_flat] = mu
            if len(rows) < d:
                m = np.asfortranarray(m[np.ix_(rows, rows)])
        m.flat[:: len(rows) + 1] += _LAMBDA_REL * diag / self.d
        return sl.cho_factor(m, lower=False, overwrite_a=True, check_finite=False)

    def _measured(self, rows: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """A's measured rows and their transpose, float32 (as K), both CSR; the last set is kept
        (the measured directions rarely change from step to step)."""
        key = rows.tobytes()
        if self._rows_cache is None or self._rows_cache[0] != key:
            ar = self.a[rows].astype(np.float32)
            self._rows_cache = (key, ar, ar.T.tocsr())
        return self._rows_cache[1], self._rows_cache[2]


def k_entries(a: sp.csc_matrix) -> int:
    """Entries of the operator's K for routing matrix ``a`` (CSC): ``sum k (k + 1) / 2`` over its
    columns' nonzero counts ``k``."""
    k = np.diff(a.indptr).astype(np.int64)
    return int(np.sum(k * (k + 1) // 2))


def _relative_l2(est: np.ndarray, true: np.ndarray) -> Any:
    """||est - true|| / ||true|| along the last axis (0 when both are 0; NaN where est is NaN)."""
    num = np.sqrt(np.sum((est - true) ** 2, axis=-1))
    den = np.sqrt(np.sum(true ** 2, axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.where(num > 0, np.inf, 0.0))
    return float(r) if np.ndim(r) == 0 else r


def _stats(v: np.ndarray) -> dict[str, float | None]:
    f = v[np.isfinite(v)]
    if not len(f):
        return {"median": None, "mean": None, "max": None}
    return {"median": float(np.median(f)), "mean": float(f.mean()), "max": float(f.max())}


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None
