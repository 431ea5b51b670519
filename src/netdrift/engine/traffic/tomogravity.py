"""Traffic-matrix estimation from link loads by tomogravity (Zhang, Roughan, Duffield, Greenberg,
"Fast accurate computation of large-scale IP traffic matrices from link loads", SIGMETRICS 2003).

Given one failure state's :class:`~netdrift.engine.network.routing.Routing` (per-hop ECMP fractions ``A``, 2L x P),
the measured load of every link direction ``y`` (2L,) and the measured per-node totals (edge
interface counters: ``egress[o]`` = traffic entering the network at ``o``, ``ingress[d]`` =
traffic destined to ``d``), the demand of every origin-destination pair is estimated in three
steps:

1. **Gravity prior** ``g[od] = egress[o] * ingress[d] / sum(egress)`` (:func:`gravity_prior`).
2. **Tomographic correction**: the demands closest to the prior in the weighted norm
   ``sum (x - g)^2 / g`` that reproduce the measurements,
   ``x = g + W C^T (C W C^T + lam I)^-1 (m - C g)`` with ``W = diag(g)`` (the paper's weighting:
   a pair is corrected in proportion to its prior, so a pair with a zero prior stays 0). ``C`` is
   the routing matrix with two rows per node appended, the node's egress and ingress sums, and
   ``m`` the link loads followed by the node totals: the node totals are constraints as well as
   the prior's input (the paper's measurements likewise include the edge links' counts). On
   synthetic GEANT traffic this takes the demand error from about 18% (link rows only) to 15%,
   partly because the gravity prior (no self pairs) does not itself add up to the node totals.
3. **Non-negativity**: negative estimates are set to 0 (no rescaling afterwards).

Choices, and why:

- **Regularisation** ``lam = 1e-6 * trace(C W C^T) / rows``, relative to the mean diagonal so it
  does not depend on the traffic's scale. ``C W C^T`` is singular in general: the egress rows
  sum to the same vector as the ingress rows. Rows that repeat another exactly (a degree-1
  node's outgoing direction is its egress row) are merged beforehand, their measurements
  averaged, and all-zero rows (down links) dropped. What ``z`` gets along the remaining exact
  null vectors of ``C^T`` is multiplied by zero in ``W C^T z``, so ``lam`` only has to make the
  factorisation well-posed. At 1e-6 it moves the fitted loads by about 3e-8 (relative); with 1%
  noise on every measurement, any ``lam`` from 1e-9 to 1e-4 gives the same demand error to
  within 0.0003; the matrix stays far from float64 breakdown (condition below about 1e6 x rows).
- **Unreachable pairs** (``routing.unreachable``, e.g. after a partition) carry nothing, so their
  routing columns are zero, but their demand is in the node totals (it entered the network and
  was dropped). They are kept as unknowns in the node rows: the least-squares step estimates
  the dropped demand from the node totals, so reachable pairs are not made to absorb it, and the
  returned estimate for them is 0. No measured dropped amount is needed.
- **Non-negativity by clipping only.** The paper clips and then re-fits the constraints by
  iterative proportional fitting. Measured on synthetic GEANT and Cogentco traffic (exact and
  with 1% noise), negatives are rare (0.3% / 0% of pairs exact, 12% / 1% with noise, all small
  pairs), and neither IPF to the node totals nor re-solving with the clipped pairs fixed at 0
  changed the demand error by more than 0.001; IPF slightly worsened the link fit. Clipping alone
  keeps the link fit within 1e-4 (exact inputs) and costs nothing.
- **Missing data**: a step whose link loads or node totals hold a NaN gives a NaN row (no
  partial estimate). Negative node totals count as 0 in the prior.

Computation. For every step ``C W C^T`` is needed (rows = 2L + 2N less merged rows; 836 for
Cogentco). It is linear in ``g``: its upper triangle is ``K @ g`` with ``K`` a sparse
(pairs of rows, P) operator holding ``C[i,p] * C[j,p]`` (5.5 million entries, 66 MB, for
Cogentco; built once per routing and kept for the two most recent routings), so a batch of
steps takes one sparse x dense product, then one dense Cholesky per step. The first single
step on a routing uses a sparse ``C W C^T`` product instead (the second builds ``K``). Work is
in float64; the estimate is returned as float32. Measured on a 2-core machine (one day at 5
minutes, bench/bench_tomogravity.py): Cogentco 7 ms per step batched, 10 ms for a single step
(50 ms for the first on a new routing); GEANT under 0.1 ms per step.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np
import scipy.linalg as sl
import scipy.sparse as sp

from netdrift.engine.errors import InputError
from netdrift.engine.network.routing import Routing

__all__ = ["tomogravity", "node_totals", "gravity_prior", "LAMBDA_REL"]

#: Ridge added to the diagonal of C W C^T, relative to its mean diagonal.
LAMBDA_REL = 1e-6
#: Largest K (nonzeros) built; beyond it every step uses a sparse C W C^T product.
_K_MAX_NNZ = 40_000_000
#: Largest constraint count for K (its build indexes a rows x rows table).
_K_MAX_ROWS = 4000
#: Batches with at least this many valid steps build K (about as costly as a few sparse products).
_K_MIN_STEPS = 4
#: About this many float64 values of K @ G per block of steps.
_BLOCK_VALUES = 4_000_000
#: Routings whose prepared operators are kept.
_CACHE_SIZE = 2


def node_totals(demands: np.ndarray, src: np.ndarray, dst: np.ndarray,
                n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """(egress, ingress) per node from (P,) or (T, P) demands: (N,) or (T, N) each, float64.

    ``egress[o]`` sums the demands of pairs leaving ``o``, ``ingress[d]`` of pairs going to ``d``.
    A NaN demand makes the totals it enters NaN.

    >>> e, i = node_totals(np.array([1.0, 2.0, 4.0]), np.array([0, 0, 1]), np.array([1, 2, 2]), 3)
    >>> e.tolist(), i.tolist()
    ([3.0, 4.0, 0.0], [0.0, 1.0, 6.0])
    """
    d = np.asarray(demands, dtype=np.float64)
    src, dst = _pairs(src, dst, n_nodes)
    if d.ndim not in (1, 2) or d.shape[-1] != len(src):
        raise InputError("demands", f"expected shape ({len(src)},) or (steps, {len(src)}), got {d.shape}")
    eg = sp.csr_matrix((np.ones(len(src)), (src, np.arange(len(src)))), shape=(n_nodes, len(src)))
    ig = sp.csr_matrix((np.ones(len(dst)), (dst, np.arange(len(dst)))), shape=(n_nodes, len(dst)))
    return (eg @ d.T).T, (ig @ d.T).T


def gravity_prior(egress: np.ndarray, ingress: np.ndarray, src: np.ndarray,
                  dst: np.ndarray) -> np.ndarray:
    """Gravity demands ``egress[src] * ingress[dst] / sum(egress)``: (P,) or (T, P), float64.

    A step whose egress sums to 0 (or less) gets 0 everywhere.

    >>> gravity_prior(np.array([2.0, 2.0]), np.array([1.0, 3.0]), np.array([0, 1]), np.array([1, 0])).tolist()
    [1.5, 0.5]
    """
    e = np.asarray(egress, dtype=np.float64)
    i = np.asarray(ingress, dtype=np.float64)
    if e.shape != i.shape or e.ndim not in (1, 2):
        raise InputError("egress/ingress",
                         f"must have the same shape, (N,) or (steps, N); got {e.shape} and {i.shape}")
    src, dst = _pairs(src, dst, e.shape[-1])
    total = e.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 0.0)
    return e[..., src] * i[..., dst] * scale


def tomogravity(routing: Routing, link_loads: np.ndarray, egress: np.ndarray, ingress: np.ndarray,
                src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Estimated demands (P,) Mbit/s from one step's (2L,) link loads and (N,) node totals; or
    batched: link_loads (T, 2L), egress/ingress (T, N) -> (T, P). NaN inputs (missing interval) -> NaN row.

    ``routing`` is the failure state the loads were measured in (one for all steps of a batch);
    its pairs are ``src[p] -> dst[p]``. Returns float32, >= 0, and 0 for unreachable pairs.
    See the module docstring for the method and its choices.

    A triangle: every pair has its own link, so the link loads determine the matrix.

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> from netdrift.engine.network.routing import routing_matrix, all_pairs
    >>> t = Topology("tri", tuple(Node(x, x) for x in "abc"),
    ...              tuple(Link(u + v, u, v, 100.0) for u, v in ("ab", "bc", "ca")))
    >>> s, d = all_pairs(3)
    >>> r = routing_matrix(t, src=s, dst=d)
    >>> x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> e, i = node_totals(x, s, d, 3)
    >>> np.round(tomogravity(r, r.matrix @ x, e, i, s, d), 4).tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    """
    if not isinstance(routing, Routing):
        raise InputError("routing", f"expected an netdrift.engine.network.routing.Routing, got {type(routing).__name__}")
    n_dir, n_pairs = routing.matrix.shape
    e = _float_array(egress, "egress")
    i = _float_array(ingress, "ingress")
    y = _float_array(link_loads, "link_loads")
    if e.ndim not in (1, 2):
        raise InputError("egress", f"expected (N,) or (steps, N), got shape {e.shape}")
    if i.shape != e.shape:
        raise InputError("ingress", f"expected the shape of egress {e.shape}, got {i.shape}")
    single = e.ndim == 1
    steps = 1 if single else e.shape[0]
    want = (n_dir,) if single else (steps, n_dir)
    if y.shape != want:
        raise InputError("link_loads", f"expected shape {want} (one load per link direction"
                                       f"{'' if single else ' per step'}), got {y.shape}")
    n_nodes = e.shape[-1]
    if np.shape(routing.node_up) != (n_nodes,):
        raise InputError("egress", f"expected {np.shape(routing.node_up)[0]} entries per step (one per node "
                                   f"of the routing's topology), got {n_nodes}")
    src_a, dst_a = _pairs(src, dst, n_nodes)
    if len(src_a) != n_pairs:
        raise InputError("src/dst", f"expected {n_pairs} pairs (the routing's), got {len(src_a)}")
    if np.asarray(routing.unreachable).shape != (n_pairs,):
        raise InputError("routing", "its unreachable mask does not match its matrix")

    y2, e2, i2 = (y[None], e[None], i[None]) if single else (y, e, i)
    out = np.full((steps, n_pairs), np.nan, dtype=np.float32)
    valid = ~(np.isnan(y2).any(axis=1) | np.isnan(e2).any(axis=1) | np.isnan(i2).any(axis=1))
    idx = np.flatnonzero(valid)
    if len(idx) and n_pairs:
        prep = _prepared(routing, src_a, dst_a, n_nodes)
        prep.calls += 1
        # K pays off for a batch, or once the same routing comes back step after step.
        use_k = prep.k_ready() or (prep.k_affordable() and (len(idx) >= _K_MIN_STEPS or prep.calls > 1))
        block = max(1, min(len(idx), _BLOCK_VALUES // max(prep.k_rows_estimate(), 1))) if use_k else 1
        for a in range(0, len(idx), block):
            rows = idx[a:a + block]
            out[rows] = prep.estimate(y2[rows], e2[rows], i2[rows], use_k)
    elif len(idx):
        out[idx] = 0.0
    return out[0] if single else out


# --- internals --------------------------------------------------------------------------------

def _float_array(x: np.ndarray, what: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(what, "must be numbers") from None
    if np.isinf(a).any():
        raise InputError(what, "must be finite (NaN marks a missing step)")
    return a


def _pairs(src: np.ndarray, dst: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(src)
    d = np.asarray(dst)
    if s.ndim != 1 or s.shape != d.shape:
        raise InputError("src/dst",
                         f"must be 1-D index arrays of equal length, got shapes {s.shape} and {d.shape}")
    if len(s) and not (np.issubdtype(s.dtype, np.integer) and np.issubdtype(d.dtype, np.integer)):
        raise InputError("src/dst", "must be integer node indices")
    s = s.astype(np.int64, copy=False)
    d = d.astype(np.int64, copy=False)
    if len(s) and (min(s.min(), d.min()) < 0 or max(s.max(), d.max()) >= n_nodes):
        raise InputError("src/dst",
                         f"node index outside 0..{n_nodes - 1} (the node totals have {n_nodes} entries)")
    return s, d


class _Prepared:
    """The constraint matrix C = [A; egress rows; ingress rows] of one routing and its K."""

    def __init__(self, routing: Routing, src: np.ndarray, dst: np.ndarray, n_nodes: int) -> None:
        a = sp.csc_matrix(routing.matrix, dtype=np.float64)
        a.sum_duplicates()
        a.sort_indices()
        n_dir, n_pairs = a.shape
        self.n_dir, self.n_nodes, self.n_pairs = n_dir, n_nodes, n_pairs
        self.src, self.dst = src.copy(), dst.copy()
        d = n_dir + 2 * n_nodes
        self.unreachable = np.asarray(routing.unreachable, dtype=bool).copy()
        # Each column: its link entries, then its egress row and its ingress row (indices stay sorted).
        k = np.diff(a.indptr)
        indptr = a.indptr + 2 * np.arange(n_pairs + 1)
        indices = np.empty(a.nnz + 2 * n_pairs, dtype=np.int64)
        data = np.ones(a.nnz + 2 * n_pairs)
        link_pos = np.arange(a.nnz) + 2 * np.repeat(np.arange(n_pairs), k)
        indices[link_pos] = a.indices
        data[link_pos] = a.data
        indices[indptr[1:] - 2] = n_dir + src
        indices[indptr[1:] - 1] = n_dir + n_nodes + dst
        full = sp.csc_matrix((data, indices, indptr), shape=(d, n_pairs)).tocsr()
        # Rows that repeat another (a degree-1 node's outgoing direction and its egress row, ...)
        # are merged, their measurements averaged (what the regularised solve would do with
        # both: the difference lies in C^T's null space); all-zero rows (down links) dropped.
        keep, merge = _distinct_rows(full)
        self.merge = merge                        # (kept rows, all rows): averages measurements
        self.c_csr = full[keep]
        self.c_csc = self.c_csr.tocsc()
        self.c_csc.sort_indices()
        self.ct_csr = self.c_csc.T.tocsr()       # (P, kept rows)
        self.rows = d = len(keep)
        kk = np.diff(self.c_csc.indptr)
        self.k_nnz = int((kk * (kk + 1) // 2).sum())
        self.k: sp.csc_matrix | None = None
        self.k_flat: np.ndarray | None = None   # position of each K row in a Fortran (rows, rows) matrix
        self.k_diag: np.ndarray | None = None   # K rows on the diagonal
        self._k_rows = 0
        self.calls = 0
        self._lock = threading.Lock()

    def k_ready(self) -> bool:
        return self.k is not None

    def k_affordable(self) -> bool:
        return self.k_nnz <= _K_MAX_NNZ and self.rows <= _K_MAX_ROWS

    def k_rows_estimate(self) -> int:
        return self._k_rows or min(self.k_nnz, self.rows * (self.rows + 1) // 2)

    def _build_k(self) -> None:
        """K[(i, j), p] = C[i, p] * C[j, p] for i <= j: upper triangle of C diag(g) C^T = K @ g."""
        with self._lock:
            if self.k is not None:
                return
            c = self.c_csc
            d, nnz = self.rows, c.nnz
            k = np.diff(c.indptr)
            first = np.repeat(c.indptr[:-1], k)
            after = np.repeat(k, k) - (np.arange(nnz) - first)        # entries from here to column end
            ia = np.repeat(np.arange(nnz), after)
            start = np.cumsum(after) - after
            ib = ia + (np.arange(len(ia)) - np.repeat(start, after))
            ri, rj = c.indices[ia].astype(np.int64), c.indices[ib].astype(np.int64)
            key = ri * d + rj                                         # row-major, ri <= rj
            used = np.zeros(d * d, dtype=bool)
            used[key] = True
            keys = np.flatnonzero(used)
            lut = np.full(d * d, -1, dtype=np.int64)
            lut[keys] = np.arange(len(keys))
            # Columns are pairs and every column's entries are contiguous: K^T is CSR as built.
            kt_indptr = np.concatenate([[0], np.cumsum(k * (k + 1) // 2)])
            kt = sp.csr_matrix((c.data[ia] * c.data[ib], lut[key], kt_indptr),
                               shape=(self.n_pairs, len(keys)))
            ki, kj = keys // d, keys % d
            self.k_flat = ki + kj * d                                 # Fortran order
            self.k_diag = np.flatnonzero(ki == kj)
            self._k_rows = len(keys)
            self.k = kt.T                                             # CSC (K rows, P)

    def estimate(self, y: np.ndarray, e: np.ndarray, i: np.ndarray, use_k: bool) -> np.ndarray:
        """Estimates (c, P) float32 for c steps of finite link loads (c, 2L) and totals (c, N)."""
        if use_k:
            self._build_k()
        steps = y.shape[0]
        g = gravity_prior(np.maximum(e, 0.0), np.maximum(i, 0.0), self.src, self.dst)   # (c, P)
        gt = np.ascontiguousarray(g.T)                                                  # (P, c)
        meas = self.merge @ np.concatenate([y, e, i], axis=1).T                         # (rows, c)
        resid = meas - self.c_csr @ gt
        z = np.zeros((self.rows, steps))
        d = self.rows
        m = np.zeros((d, d), order="F")
        if use_k:
            mu = np.ascontiguousarray((self.k @ gt).T)                                  # (c, K rows)
        for s in range(steps):
            if use_k:
                m.fill(0.0)
                m.ravel(order="F")[self.k_flat] = mu[s]
                diag = mu[s, self.k_diag].sum()
            else:
                cg = self.c_csr.copy()
                cg.data *= gt[cg.indices, s]
                m[...] = (cg @ self.ct_csr).toarray()
                diag = np.trace(m)
            if not diag > 0:      # no prior traffic: nothing to correct
                continue
            m.flat[:: d + 1] += LAMBDA_REL * diag / d
            factor = sl.cho_factor(m, lower=False, overwrite_a=True, check_finite=False)
            z[:, s] = sl.cho_solve(factor, resid[:, s], check_finite=False)
        x = gt + gt * (self.ct_csr @ z)
        x[self.unreachable] = 0.0
        np.maximum(x, 0.0, out=x)
        return x.T.astype(np.float32)


def _distinct_rows(c: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix]:
    """Indices of the distinct nonzero rows of ``c`` (first of each kind, in order) and the
    (kept, all) matrix averaging the measurements of each kind."""
    n_rows, n_cols = c.shape
    nnz = np.diff(c.indptr)
    # Equal rows have equal signatures (up to rounding: ECMP shares such as 3 x 1/3 need not
    # add up to exactly 1; a row pair split by the rounding is merely not merged).
    sig = np.round(c @ np.random.default_rng(0).random((n_cols, 2)), 6)
    order = np.lexsort((np.arange(n_rows), sig[:, 1], sig[:, 0], nnz))
    rep = np.full(n_rows, -1, dtype=np.int64)                  # first row of the same kind
    for k, r in enumerate(order):
        if nnz[r] == 0:
            continue
        rep[r] = r
        for q in order[k - 1::-1] if k else ():
            if nnz[q] != nnz[r] or (sig[q] != sig[r]).any():
                break
            if rep[q] >= 0 and _same_row(c, q, r):
                rep[r] = rep[q]
                break
    keep = np.flatnonzero(rep == np.arange(n_rows))
    rows = np.flatnonzero(rep >= 0)
    group = np.searchsorted(keep, rep[rows])
    size = np.bincount(group, minlength=len(keep))
    merge = sp.csr_matrix((1.0 / size[group], (group, rows)), shape=(len(keep), n_rows))
    return keep, merge


def _same_row(c: sp.csr_matrix, a: int, b: int) -> bool:
    sa, sb = slice(c.indptr[a], c.indptr[a + 1]), slice(c.indptr[b], c.indptr[b + 1])
    return bool(np.array_equal(c.indices[sa], c.indices[sb])
                and np.allclose(c.data[sa], c.data[sb], rtol=1e-12, atol=1e-12))


_cache: "OrderedDict[int, tuple[weakref.ref, _Prepared]]" = OrderedDict()
_cache_lock = threading.Lock()


def _prepared(routing: Routing, src: np.ndarray, dst: np.ndarray, n_nodes: int) -> _Prepared:
    with _cache_lock:
        hit = _cache.get(id(routing))
        if hit is not None:
            ref, prep = hit
            if (ref() is routing and prep.n_nodes == n_nodes and np.array_equal(prep.src, src)
                    and np.array_equal(prep.dst, dst)):
                _cache.move_to_end(id(routing))
                return prep
    prep = _Prepared(routing, src, dst, n_nodes)
    with _cache_lock:
        _cache[id(routing)] = (weakref.ref(routing), prep)
        _cache.move_to_end(id(routing))
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return prep
