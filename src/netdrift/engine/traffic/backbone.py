"""A development proxy for real backbone traffic matrices (``--traffic-model backbone``).

The paper's sine traffic (:mod:`netdrift.engine.traffic.synthetic`) is smooth; measured backbone
traffic matrices are not. This generator keeps the sine's contract (gravity-model volumes,
float32 ``(steps, n(n-1))`` demands in Mbit/s, seeded, auto-scaled so the busiest link direction
peaks at ``peak_utilization`` under normal routing) and adds what real series show. For pair
``p`` at step ``t``:

    demand[t, p] = scale * g[p] * diurnal[t, p] * weekly[t, p] * exp(L[t, p])

- ``g[p]``: gravity model over node weights (as the sine: lognormal times attached capacity)
  with a wider per-pair lognormal spread (pair volumes span orders of magnitude);
- ``diurnal = 1 + a1 cos(2 pi (t - phi)) + a2 cos(4 pi (t - phi2))``, ``t`` in days, phase from
  the pair's local solar time (evening peak) plus per-pair jitter; peak / trough 2-4x;
- ``weekly = 1 - dip[p] * weekend(t + offset[p])``: a smooth (2-hour ramps) Saturday-Sunday dip
  in the pair's local time, ``dip`` 20-30 %;
- ``L = sigma[p] * X - sigma[p]^2 / 2 + shifts + bursts + noise``:
  ``X`` unit fractional Gaussian noise with Hurst ``H`` (long-range dependent), part of it shared
  with the other pairs of the same origin and destination (``common_share``), so the multiplier
  ``exp(sigma X - sigma^2 / 2)`` is lognormal with mean 1; ``sigma[p]`` grows for small pairs
  (variance ~ mean^1.5) and is stated at 5-minute steps (self-similar: ``sigma * (step / 5)^(H-1)``
  at other steps); ``shifts``: persistent per-pair level shifts (Poisson arrivals; each sets a fresh
  lognormal level that holds until the next); ``bursts``: Poisson arrivals of Pareto-sized spikes decaying exponentially;
  ``noise``: measurement noise (lognormal);
- missing samples: whole rows NaN (a sample of the matrix lost), in gaps of geometric length.

Every default, and the published figure it comes from, is in ``docs/traffic.md``. It is a
proxy for development and benchmarks, not a model fitted to any one network.

Randomness comes from independent streams (pair parameters, missing rows, and one per block of
pairs), so the series does not depend on the number of threads. Unlike the sine, the first
``k`` steps do depend on the length of the run (the fGn of a pair is drawn whole).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from datetime import datetime

import numpy as np

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.routing import LoadPlan, block_steps_for, run_in_threads
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.lrd import _check_hurst, fgn, fgn_eigenvalues
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.synthetic import (
    MEAN_PAIR_MBPS,
    _local_offsets,
    _node_weights,
    check_seed,
    scale_to_peak,
    synthetic_memory_bytes,
)
from netdrift.engine.traffic.time_grid import check_step_minutes, check_time_span

__all__ = ["BackboneParams", "backbone_traffic", "backbone_memory_bytes"]

_PAIR_BLOCK = 256  # pairs per fGn batch (fixed: the random streams are per block)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_WEEKEND_RAMP_DAYS = 2.0 / 24.0


@dataclass(frozen=True)
class BackboneParams:
    """The proxy's parameters; each default's source is in docs/traffic.md."""

    #: Hurst exponent of the fluctuations (Leland et al. 1994: 0.7-0.95, ~0.8 typical).
    hurst: float = 0.8
    #: Log-standard deviation of the fluctuation multiplier of a median pair, at 5-minute steps.
    fluctuation: float = 0.15
    #: Share of the fluctuation's variance common to the pairs of a node: each pair's fGn is
    #: sqrt(1 - c) own + sqrt(c / 2) (origin's + destination's node fGn), so pairs sharing a node
    #: move together and a link's load does not average their fluctuations away.
    common_share: float = 0.3
    #: How sigma scales with the pair's mean volume: sigma ~ (mean / median)^size_exponent.
    size_exponent: float = -0.25
    #: Per-pair lognormal spread of volumes beyond the gravity model.
    pair_spread: float = 0.5
    #: Range of the daily wave's amplitude a1 (peak / trough about (1 + a1) / (1 - a1)).
    diurnal_amplitude: tuple[float, float] = (0.35, 0.55)
    #: Range of the second harmonic's amplitude a2 (sharper evening peak, flatter night).
    harmonic_amplitude: tuple[float, float] = (0.05, 0.12)
    #: Local time of the daily peak, hours, and the per-pair jitter (standard deviation, hours).
    peak_hour: float = 21.0
    peak_jitter_hours: float = 1.5
    #: Range of the weekend dip (fraction of the weekday level lost on Saturday and Sunday).
    weekend_dip: tuple[float, float] = (0.2, 0.3)
    #: Bursts per pair per day, their size (Pareto: minimum extra fraction, tail index) and the
    #: mean decay time in minutes.
    burst_rate_per_day: float = 1.0
    burst_min: float = 0.3
    burst_alpha: float = 1.5
    burst_minutes: float = 20.0
    #: Level shifts per pair per week and the log-standard deviation of their factor.
    shift_rate_per_week: float = 0.1
    shift_sigma: float = 0.2
    #: Log-standard deviation of the measurement noise of each sample.
    measurement_noise: float = 0.02
    #: Fraction of rows missing, and the mean length of a gap in minutes.
    missing_rate: float = 0.02
    gap_minutes: float = 15.0

    def check(self) -> None:
        """InputError naming the first bad parameter."""
        _check_hurst(self.hurst)
        for f in fields(self):
            v = getattr(self, f.name)
            vals = v if isinstance(v, tuple) else (v,)
            if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in vals):
                raise InputError(f.name, f"must be finite numbers (got {v!r})")
        nonneg = ("fluctuation", "pair_spread", "peak_jitter_hours", "burst_rate_per_day", "burst_min",
                  "shift_rate_per_week", "shift_sigma", "measurement_noise")
        for name in nonneg:
            if getattr(self, name) < 0:
                raise InputError(name, f"must be >= 0 (got {getattr(self, name)!r})")
        for name, hi in (("diurnal_amplitude", 0.9), ("harmonic_amplitude", 0.3), ("weekend_dip", 0.9)):
            lo_v, hi_v = getattr(self, name)
            if not 0 <= lo_v <= hi_v <= hi:
                raise InputError(name, f"must be a range 0 <= low <= high <= {hi} (got {(lo_v, hi_v)!r})")
        if self.diurnal_amplitude[1] + self.harmonic_amplitude[1] >= 0.95:
            raise InputError("diurnal_amplitude", "plus harmonic_amplitude must stay below 0.95 (demand > 0)")
        if not 0 <= self.common_share <= 1:
            raise InputError("common_share", f"must be in [0, 1] (got {self.common_share!r})")
        if not 0 <= self.missing_rate < 0.5:
            raise InputError("missing_rate", f"must be in [0, 0.5) (got {self.missing_rate!r})")
        for name in ("burst_alpha", "burst_minutes", "gap_minutes"):
            if not getattr(self, name) > 0:
                raise InputError(name, f"must be > 0 (got {getattr(self, name)!r})")


def backbone_memory_bytes(n_nodes: int, n_directions: int, steps: int, auto_scale: bool = True,
                          workers: int | None = None) -> float:
    """Peak memory of :func:`backbone_traffic`, in bytes: the sine's estimate
    (:func:`netdrift.engine.traffic.synthetic.synthetic_memory_bytes`: demands, pair setup,
    routing for the auto-scale) plus, per worker thread, one block of pairs' fGn (complex64 over
    the embedding of about 2 x steps, and its normal draws) and its float32 working arrays (about
    4 x steps x block). Measured (peak RSS after minus before, 2 threads): Cogentco, 2016 steps,
    0.40 GB against 0.43 GB estimated.
    """
    n, t = int(n_nodes), int(steps)
    p = n * (n - 1)
    n_workers = max(1, min(workers if workers is not None else (os.cpu_count() or 1), -(-p // _PAIR_BLOCK)))
    block = min(_PAIR_BLOCK, max(p, 1))
    embed = 2.0 * max(t, 2) * 1.25
    per_worker = block * (4.0 * embed + 4.0 * embed + 4 * 4.0 * t)
    nodes = n * (4.0 * t + 4.0 * embed)  # the nodes' common fGn (float32) and its draw
    return synthetic_memory_bytes(n, n_directions, t, auto_scale, workers) + n_workers * per_worker + 120.0 * p + nodes


def _weekend(days_since_monday: np.ndarray) -> np.ndarray:
    """Smooth Saturday-Sunday indicator (0 on weekdays, 1 on the weekend, 2-hour tanh ramps)."""
    wk = np.mod(days_since_monday, 7.0)
    r = _WEEKEND_RAMP_DAYS

    def g(x: np.ndarray) -> np.ndarray:
        return 0.5 * (np.tanh((x - 5.0) / r) - np.tanh((x - 7.0) / r))

    return g(wk) + g(wk + 7.0)


def _missing_rows(steps: int, prm: BackboneParams, step_minutes: float, rng: np.random.Generator) -> np.ndarray:
    """(steps,) True on missing rows: gaps start at random, lengths geometric (mean gap_minutes)."""
    if prm.missing_rate <= 0:
        return np.zeros(steps, dtype=bool)
    mean_len = max(1.0, prm.gap_minutes / step_minutes)
    starts = np.flatnonzero(rng.random(steps) < prm.missing_rate / mean_len)
    lengths = rng.geometric(1.0 / mean_len, size=len(starts))
    delta = np.zeros(steps + 1, dtype=np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, np.minimum(starts + lengths, steps), -1)
    return np.cumsum(delta[:-1]) > 0


def _events(rng: np.random.Generator, rate_per_step: float, steps: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Poisson arrivals on ``b`` pairs over ``steps``: (column, step) of each."""
    counts = rng.poisson(rate_per_step * steps, size=b)
    cols = np.repeat(np.arange(b), counts)
    return cols, rng.integers(0, steps, size=len(cols))


def _level_shifts(cols: np.ndarray, at: np.ndarray, level: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The columns with shifts and their (steps, k) log-level: 0 until a pair's first shift, then
    each shift's ``level`` until the next one (a fresh level, not a random walk: bounded over any
    run length)."""
    order = np.lexsort((at, cols))
    cols, at, level = cols[order], at[order], level[order]
    prev = np.concatenate([[0.0], level[:-1]])
    prev[np.flatnonzero(np.diff(cols, prepend=-1) != 0)] = 0.0  # a pair's first shift starts from 0
    shifted, where = np.unique(cols, return_inverse=True)
    jumps = np.zeros((steps, len(shifted)), dtype=np.float32)
    np.add.at(jumps, (at, where), (level - prev).astype(np.float32))
    return shifted, np.cumsum(jumps, axis=0)


def backbone_traffic(
    topology: Topology,
    steps: int,
    step_minutes: float = 5.0,
    seed: int = 0,
    start: datetime = datetime(2024, 1, 1),
    peak_utilization: float | None = 0.6,
    params: BackboneParams | None = None,
    node_weights: np.ndarray | None = None,
    budget_bytes: int | None = None,
) -> TrafficMatrixSeries:
    """Backbone-like traffic for every ordered pair of distinct nodes (see the module docstring).

    Arguments as :func:`netdrift.engine.traffic.synthetic.synthetic_traffic`; ``params``: the
    proxy's parameters (:class:`BackboneParams`, defaults documented in docs/traffic.md).

    Returns float32 demands (steps, n(n-1)) in Mbit/s, never negative; missing rows are NaN.
    ``peak_utilization`` is met over the rows that are present.

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("ab", (Node("a", "a"), Node("b", "b")), (Link("ab", "a", "b", 1000.0),))
    >>> tm = backbone_traffic(t, steps=2016, seed=1)
    >>> tm.demands.shape, tm.demands.dtype.name
    ((2016, 2), 'float32')
    >>> round(float(np.nanmax(tm.demands)) / 1000.0, 4)   # busiest direction peaks at 60 %
    0.6
    """
    prm = params if params is not None else BackboneParams()
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError("steps", f"must be a whole number >= 1 (got {steps!r})")
    seed = check_seed(seed)
    step_minutes = check_step_minutes("step_minutes", step_minutes)  # (0, a week]
    if peak_utilization is not None and not (math.isfinite(peak_utilization) and peak_utilization > 0):
        raise InputError("peak_utilization", f"must be a number > 0 or None (got {peak_utilization!r})")
    prm.check()
    n = len(topology.nodes)
    if n < 2:
        raise InputError(f"topology '{topology.name}'", "needs at least two nodes to generate traffic")
    steps = int(steps)
    if not (topology.direction_capacity <= _FLOAT32_MAX).all():
        raise InputError(f"topology '{topology.name}'", f"a link capacity is above float32's largest "
                                                        f"value ({_FLOAT32_MAX:.4g} Mbit/s)")
    check_memory(f"backbone traffic on '{topology.name}' ({n} nodes, {n * (n - 1)} node pairs, {steps} steps)",
                 backbone_memory_bytes(n, topology.n_directions, steps, peak_utilization is not None),
                 budget_bytes)
    check_time_span("step_minutes", start, step_minutes, steps)  # its last step within the calendar

    param_seq, gap_seq, block_seq, node_seq = np.random.SeedSequence(seed).spawn(4)
    prng = np.random.default_rng(param_seq)
    w = _node_weights(topology, node_weights, prng)
    src, dst = np.nonzero(~np.eye(n, dtype=bool))
    src, dst = src.astype(np.int64), dst.astype(np.int64)
    p = len(src)
    s2 = prm.pair_spread ** 2
    gravity = w[src] * w[dst] * prng.lognormal(-0.5 * s2, prm.pair_spread, size=p)
    gravity *= MEAN_PAIR_MBPS / gravity.mean()
    positive = gravity[gravity > 0]
    median = float(np.median(positive)) if len(positive) else 1.0
    step_factor = (step_minutes / 5.0) ** (prm.hurst - 1.0)
    sigma = prm.fluctuation * step_factor * np.clip(
        (np.maximum(gravity, 1e-12 * median) / median) ** prm.size_exponent, 0.5, 3.0)

    off = _local_offsets(topology)
    ang = np.exp(2j * np.pi * off)
    pair_off = np.angle(ang[src] + ang[dst]) / (2 * np.pi)  # days; circular mean of both ends
    phi = prm.peak_hour / 24.0 - pair_off + prng.normal(0.0, prm.peak_jitter_hours / 24.0, size=p)
    phi2 = phi + prng.normal(0.0, 0.5 / 24.0, size=p)
    a1 = prng.uniform(*prm.diurnal_amplitude, size=p)
    a2 = prng.uniform(*prm.harmonic_amplitude, size=p)
    dip = prng.uniform(*prm.weekend_dip, size=p)
    coef = np.stack([a1 * np.cos(2 * np.pi * phi), a1 * np.sin(2 * np.pi * phi),
                     a2 * np.cos(4 * np.pi * phi2), a2 * np.sin(4 * np.pi * phi2)])

    t0 = start.weekday() + (start.hour * 3600 + start.minute * 60 + start.second
                            + start.microsecond / 1e6) / 86400.0
    day_step = step_minutes / 1440.0
    t = t0 + np.arange(steps, dtype=np.float64) * day_step
    basis = np.stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * t),
                      np.cos(4 * np.pi * t), np.sin(4 * np.pi * t)], axis=1)
    # Weekend indicator on a grid of steps wide enough for every pair's local shift (a gather).
    shift_steps = np.round(pair_off / day_step).astype(np.int64)
    lo_shift, hi_shift = int(shift_steps.min()), int(shift_steps.max())
    grid = _weekend(t0 + np.arange(lo_shift, steps + hi_shift, dtype=np.float64) * day_step)
    missing = _missing_rows(steps, prm, step_minutes, np.random.default_rng(gap_seq))

    lam = fgn_eigenvalues(steps, prm.hurst)
    own_weight = np.float32(math.sqrt(1.0 - prm.common_share))
    node_weight = np.float32(math.sqrt(prm.common_share / 2.0))
    node_fgn = (fgn(steps, prm.hurst, n, np.random.default_rng(node_seq), eigenvalues=lam, dtype=np.float32).T
                if prm.common_share > 0 else None)  # (steps, nodes)
    burst_tau = max(prm.burst_minutes / step_minutes, 1e-3)
    burst_len = max(1, int(math.ceil(4.0 * burst_tau)))
    burst_decay = np.exp(-np.arange(burst_len) / burst_tau)
    burst_rate = prm.burst_rate_per_day * day_step
    shift_rate = prm.shift_rate_per_week * day_step / 7.0
    demands = np.empty((steps, p), dtype=np.float32)
    sigma32, gravity32, dip32 = sigma.astype(np.float32), gravity.astype(np.float32), dip.astype(np.float32)
    basis32, coef32, grid32 = basis.astype(np.float32), coef.astype(np.float32), grid.astype(np.float32)
    n_blocks = -(-p // _PAIR_BLOCK)
    steps_idx = np.arange(steps)[:, None]

    def fill(k: int) -> None:
        a, b = k * _PAIR_BLOCK, min((k + 1) * _PAIR_BLOCK, p)
        m = b - a
        rng = np.random.default_rng(np.random.SeedSequence(block_seq.entropy, spawn_key=(*block_seq.spawn_key, k)))
        sg = sigma32[a:b]
        # float32 throughout the block (log-multipliers of order 1: float32's 1e-7 is plenty)
        log_m = fgn(steps, prm.hurst, m, rng, eigenvalues=lam, dtype=np.float32).T  # (steps, m)
        if node_fgn is not None:
            log_m *= own_weight
            common = node_fgn[:, src[a:b]]
            common += node_fgn[:, dst[a:b]]
            common *= node_weight
            log_m += common
        log_m *= sg
        log_m -= np.float32(0.5) * sg * sg
        if prm.measurement_noise > 0:
            noise = rng.standard_normal((steps, m), dtype=np.float32)
            noise *= np.float32(prm.measurement_noise)
            log_m += noise
            log_m -= np.float32(0.5 * prm.measurement_noise ** 2)
        cols, at = _events(rng, shift_rate, steps, m)
        if len(cols):
            shifted, level = _level_shifts(cols, at, rng.normal(0.0, prm.shift_sigma, size=len(cols)), steps)
            log_m[:, shifted] += level
        cols, at = _events(rng, burst_rate, steps, m)
        if len(cols):
            size = prm.burst_min * (1.0 - rng.random(len(cols))) ** (-1.0 / prm.burst_alpha)  # Pareto
            kk = np.arange(burst_len)
            rows = at[:, None] + kk[None, :]
            inside = rows < steps
            bump = np.log1p(size[:, None] * burst_decay[None, :]).astype(np.float32)
            np.add.at(log_m, (rows[inside], np.broadcast_to(cols[:, None], rows.shape)[inside]), bump[inside])
        np.exp(log_m, out=log_m)
        shape = basis32 @ coef32[:, a:b]
        shape += np.float32(1.0)
        log_m *= shape
        weekend = grid32[steps_idx + (shift_steps[a:b] - lo_shift)]
        weekend *= -dip32[a:b]
        weekend += np.float32(1.0)
        log_m *= weekend
        log_m *= gravity32[a:b]
        demands[:, a:b] = log_m

    run_in_threads(fill, range(n_blocks))
    np.maximum(demands, 0.0, out=demands)

    if peak_utilization is not None:
        plan = LoadPlan(topology, src=src, dst=dst)
        capacity = topology.direction_capacity.astype(np.float32)
        c = block_steps_for(p)
        present = np.flatnonzero(~missing)
        peaks = np.zeros(-(-len(present) // c)) if len(present) else np.zeros(0)

        def route(j: int) -> None:
            loads, _ = plan.apply(demands[present[j * c:(j + 1) * c]])
            peaks[j] = float((loads / capacity).max()) if loads.size else 0.0

        run_in_threads(route, range(len(peaks)))
        scale_to_peak(demands, float(peaks.max()) if len(peaks) else 0.0, peak_utilization, float(demands.max()),
                      topology.name)
    demands[missing] = np.nan
    return TrafficMatrixSeries(tuple(nd.id for nd in topology.nodes), src, dst, demands, float(step_minutes), start)
