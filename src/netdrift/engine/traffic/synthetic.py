"""The paper's synthetic traffic: sums of sinusoids scaled by a gravity model, plus noise.

Each ordered origin-destination pair ``(i, j)`` gets

    demand[t, p] = scale * g[p] * growth(t) * profile[t, p] * noise[t, p]

- ``g[p] = w[i] * w[j] * h[p]``: a gravity model over node weights ``w`` (unless given: a seeded
  lognormal "economic / demographic" factor times the node's attached capacity, since a PoP
  with big links serves big demand; without it the few thin links of a real topology, e.g.
  GEANT's 155 Mbit/s spurs, would set the scale and leave every other link idle) with a mild
  per-pair factor ``h``
  (lognormal, sigma 0.25) so pairs of equal-weight nodes are not identical;
- ``profile = 1 + a_d cos(2 pi (t - phi_d)) + a_h cos(4 pi (t - phi_h)) + a_w cos(2 pi (t - phi_w) / 7)``
  with ``t`` in days: a daily wave, its second harmonic (an evening peak sharper than the night
  trough) and a weekly wave (weekends lower). Amplitudes and phases are drawn per pair; the daily
  phase follows the pair's local time when the nodes have longitudes (peak near 20:30 local time);
  the profile is always >= 0.23;
- ``growth(t) = max(0, 1 + growth_per_day * days since start)``;
- ``noise``: multiplicative lognormal with mean 1 and log-standard deviation ``noise``.

So the demand is never negative. Before auto-scaling, the mean pair demand is about
:data:`MEAN_PAIR_MBPS`. With ``peak_utilization`` set, the whole series is rescaled so that the
busiest link direction under normal routing (all links up, per-hop ECMP) peaks at exactly that
utilisation; routing is linear, so one evaluation and one rescale suffice.

Generation runs in blocks of steps on all CPUs; each block draws its noise from its own seeded
stream, so the series does not depend on the number of threads.

All nodes take part, including any hyperedge pseudo-nodes a topology loader added (they are
nodes of the graph the operator sees); pass ``node_weights`` with zeros to silence some.
"""

from __future__ import annotations

import math
import os
import threading
from datetime import datetime

import numpy as np

from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.routing import LoadPlan, block_steps_for, run_in_threads
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.time_grid import check_step_minutes, check_time_span

__all__ = ["synthetic_traffic", "synthetic_memory_bytes", "check_seed", "scale_to_peak", "MEAN_PAIR_MBPS",
           "MAX_SEED"]

#: Mean demand of a pair, in Mbit/s, before auto-scaling (what ``peak_utilization=None`` gives).
MEAN_PAIR_MBPS = 10.0
#: Largest seed accepted (the history's seed column is a signed 64-bit integer).
MAX_SEED = 2**63 - 1
_PAIR_SPREAD = 0.25
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_DAILY_PEAK_LOCAL_DAYS = 20.5 / 24  # 20:30 local time


def check_seed(seed: object) -> int:
    """``seed`` as an int, or an InputError naming "seed": numpy seeds are whole numbers >= 0,
    and the history stores them as 64-bit signed integers (at most :data:`MAX_SEED`).

    >>> check_seed(3)
    3
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: seed: must be a whole number >= 0 (got -1)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", f"must be a whole number >= 0 (got {seed})")
    if seed > MAX_SEED:  # what the history's 64-bit integer column and torch take
        raise InputError("seed", f"must be at most {MAX_SEED} (got {seed})")
    return int(seed)


# Calibration of :func:`synthetic_memory_bytes` (peak RSS by resource.getrusage, minus the RSS
# before the call, see the function's docstring): per pair, the setup's arrays (src / dst int64,
# ~10 float64 parameter arrays and their temporaries, the (6, P) coefficients in float64 and
# float32); per step, the time basis and its temporaries; per DAG entry (destination x
# direction) of the auto-scaling routing plan, its index arrays and sparse matrices.
_SETUP_BYTES_PER_PAIR = 160
_BYTES_PER_STEP = 160
_PLAN_BYTES_PER_ENTRY = 64


def synthetic_memory_bytes(n_nodes: int, n_directions: int, steps: int, auto_scale: bool = True,
                           workers: int | None = None) -> float:
    """Peak memory :func:`synthetic_traffic` needs, in bytes (an honest estimate, not a bound).

    - the demands, float32 (steps x pairs), pairs = n(n-1): what the caller keeps;
    - the pair setup: the n x n "not self" mask and its inverse (bool), and about
      ``_SETUP_BYTES_PER_PAIR`` per pair of parameter arrays and temporaries;
    - the time basis: ``_BYTES_PER_STEP`` per step;
    - per worker thread, the noise scratch of one block (float32, block x pairs) and, when
      auto-scaling, the block routed: its pair-major copy and the flow of every
      (destination, node) state (float32, block x (pairs + n^2)), plus the routing plan of the
      normal state (about ``_PLAN_BYTES_PER_ENTRY`` per destination x direction).

    Calibrated by peak RSS (``resource.getrusage`` ru_maxrss after the call minus the RSS before
    it, 2 threads) on random ring-plus-chords topologies (1.75 n links): estimate / measured was
    0.99 (300 nodes, 2,000 steps: 0.79 GB), 1.00 (60-node ring, 50,000 steps: 0.74 GB), 0.95
    (1,000 nodes, 100 steps: 1.03 GB), 1.02 (2,000 nodes, 20 steps: 2.58 GB), and 1.21 for the
    last without auto-scaling (1.01 GB measured).

    >>> round(synthetic_memory_bytes(198_000, 500_000, 288) / 2**40)   # a 198k-node GraphML, in TiB
    59
    """
    n, t = int(n_nodes), int(steps)
    p = n * (n - 1)
    c = min(block_steps_for(max(p, 1)), t)
    n_workers = max(1, min(workers if workers is not None else (os.cpu_count() or 1), -(-t // max(c, 1))))
    per_block = 4.0 * c * p
    if auto_scale:
        per_block += 4.0 * c * (p + n * n + n_directions)
    total = 4.0 * t * p + 2.0 * n * n + _SETUP_BYTES_PER_PAIR * p + _BYTES_PER_STEP * t + n_workers * per_block
    if auto_scale:
        total += _PLAN_BYTES_PER_ENTRY * float(n) * n_directions
    return total


def _node_weights(topology: Topology, node_weights: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    n = len(topology.nodes)
    if node_weights is None:
        attached = np.zeros(n)
        np.add.at(attached, topology.direction_src, topology.direction_capacity)
        w = rng.lognormal(mean=0.0, sigma=1.0, size=n) * attached
        if not (w > 0).sum() >= 2:  # fewer than two connected nodes: plain gravity weights
            w = rng.lognormal(mean=0.0, sigma=1.0, size=n)
        return w / w.mean()
    w = np.asarray(node_weights, dtype=np.float64)
    if w.shape != (n,):
        raise InputError("node_weights", f"expected {n} values (one per node), got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise InputError("node_weights", "every weight must be a finite number >= 0")
    if not (w > 0).sum() >= 2:
        raise InputError("node_weights", "at least two nodes need a positive weight for any traffic to flow")
    return w


def _local_offsets(topology: Topology) -> np.ndarray:
    """Each node's solar-time offset from UTC in days (0 where the longitude is unknown)."""
    return np.array([(n.lon or 0.0) / 360.0 for n in topology.nodes], dtype=np.float64)


def synthetic_traffic(
    topology: Topology,
    steps: int,
    step_minutes: float = 5.0,
    seed: int = 0,
    start: datetime = datetime(2024, 1, 1),
    peak_utilization: float | None = 0.6,
    noise: float = 0.05,
    growth_per_day: float = 0.0,
    node_weights: np.ndarray | None = None,
    budget_bytes: int | None = None,
) -> TrafficMatrixSeries:
    """Sine-based gravity traffic for every ordered pair of distinct nodes, as in the paper.

    Parameters
    ----------
    topology : the network; its nodes' order defines the pairs (row-major, ``i != j``).
    steps : number of steps (>= 1).
    step_minutes : step length in minutes (> 0).
    seed : seeds every random draw; same seed, same array (bit for bit).
    start : wall-clock time (UTC) of step 0; daily and weekly waves follow the calendar.
    peak_utilization : utilisation (> 0) the busiest link direction reaches at its peak under
        normal routing; ``None`` leaves the raw scale (mean pair demand ~ ``MEAN_PAIR_MBPS``).
    noise : log-standard deviation of the multiplicative noise (>= 0; 0 = smooth).
    growth_per_day : linear growth of the demand level per day (e.g. 0.01 = +1 %/day).
    node_weights : (nodes,) gravity weights >= 0; when ``None``, seeded lognormal weights times
        each node's attached capacity (see the module docstring).
    budget_bytes : memory budget; ``None``: :func:`netdrift.engine.budget.memory_budget_bytes`. The
        estimate (:func:`synthetic_memory_bytes`) is checked before anything is allocated.

    Returns
    -------
    TrafficMatrixSeries
        float32 demands (steps, n(n-1)) in Mbit/s, never negative, never NaN.

    Raises
    ------
    InputError
        For bad arguments, a topology with fewer than two nodes, a run over the memory budget,
        or (when auto-scaling) a topology on which no demand crosses a link.

    Examples
    --------
    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("ab", (Node("a", "a"), Node("b", "b")), (Link("ab", "a", "b", 1000.0),))
    >>> tm = synthetic_traffic(t, steps=288, seed=1)
    >>> tm.demands.shape, tm.demands.dtype.name
    ((288, 2), 'float32')
    >>> round(float(tm.demands.max()) / 1000.0, 4)   # busiest direction peaks at 60 %
    0.6
    >>> bool((synthetic_traffic(t, 288, seed=1).demands == tm.demands).all())
    True
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError("steps", f"must be a whole number >= 1 (got {steps!r})")
    seed = check_seed(seed)
    step_minutes = check_step_minutes("step_minutes", step_minutes)  # (0, a week]
    if not (math.isfinite(noise) and noise >= 0):
        raise InputError("noise", f"must be a number >= 0 (got {noise!r})")
    if not math.isfinite(growth_per_day):
        raise InputError("growth_per_day", f"must be a finite number (got {growth_per_day!r})")
    if peak_utilization is not None and not (math.isfinite(peak_utilization) and peak_utilization > 0):
        raise InputError("peak_utilization", f"must be a number > 0 or None (got {peak_utilization!r})")
    n = len(topology.nodes)
    if n < 2:
        raise InputError(f"topology '{topology.name}'", "needs at least two nodes to generate traffic")
    steps = int(steps)
    big = np.flatnonzero(~(topology.direction_capacity <= _FLOAT32_MAX))
    if len(big):  # the loaders refuse these; a Topology built another way may still hold one
        link = topology.links[int(big[0]) // 2]
        raise InputError(f"topology '{topology.name}'", f"link {link.id}: capacity {link.capacity_mbps:.4g} Mbit/s is "
                                                        f"above the largest accepted ({_FLOAT32_MAX:.4g}, float32)")
    # Before any array of pairs or steps exists: a 198k-node topology (39 billion pairs) or
    # 10^11 steps is one line, not an out-of-memory kill.
    check_memory(f"synthetic traffic on '{topology.name}' ({n} nodes, {n * (n - 1)} node pairs, {steps} steps)",
                 synthetic_memory_bytes(n, topology.n_directions, steps, peak_utilization is not None),
                 budget_bytes)
    check_time_span("step_minutes", start, step_minutes, steps)  # its last step within the calendar

    # Independent streams: the pair parameters do not depend on ``steps``, and the noise of the
    # first k steps is the same whatever the length of the run.
    param_seq, noise_seq = np.random.SeedSequence(seed).spawn(2)
    prng = np.random.default_rng(param_seq)

    w = _node_weights(topology, node_weights, prng)
    src, dst = np.nonzero(~np.eye(n, dtype=bool))
    src, dst = src.astype(np.int64), dst.astype(np.int64)
    p = len(src)

    gravity = w[src] * w[dst] * prng.lognormal(-0.5 * _PAIR_SPREAD**2, _PAIR_SPREAD, size=p)
    mean_g = gravity.mean()
    gravity *= MEAN_PAIR_MBPS / mean_g

    # Pair phases in days. Daily: the circular mean of both ends' local-time offsets.
    off = _local_offsets(topology)
    ang = np.exp(2j * np.pi * off)
    pair_off = np.angle(ang[src] + ang[dst]) / (2 * np.pi)
    phi_d = _DAILY_PEAK_LOCAL_DAYS - pair_off + prng.normal(0.0, 1.0 / 24, size=p)
    phi_h = phi_d + prng.normal(0.0, 0.5 / 24, size=p)
    phi_w = 2.5 + prng.uniform(-0.5, 0.5, size=p)  # midweek peak, counted from Monday 00:00
    a_d = prng.uniform(0.35, 0.50, size=p)
    a_h = prng.uniform(0.05, 0.12, size=p)
    a_w = prng.uniform(0.05, 0.15, size=p)
    # a cos(k(t - phi)) = (a cos k phi) cos kt + (a sin k phi) sin kt: one (6, P) coefficient
    # matrix, so the whole profile of a block is one matrix product.
    coef = np.stack([
        a_d * np.cos(2 * np.pi * phi_d), a_d * np.sin(2 * np.pi * phi_d),
        a_h * np.cos(4 * np.pi * phi_h), a_h * np.sin(4 * np.pi * phi_h),
        a_w * np.cos(2 * np.pi * phi_w / 7), a_w * np.sin(2 * np.pi * phi_w / 7),
    ]).astype(np.float32)
    gravity32 = gravity.astype(np.float32)

    # Time in days since the Monday 00:00 of start's week (so weekdays line up).
    t0 = start.weekday() + (start.hour * 3600 + start.minute * 60 + start.second
                            + start.microsecond / 1e6) / 86400.0
    days = np.arange(steps, dtype=np.float64) * (step_minutes / 1440.0)
    t = t0 + days
    basis = np.stack([
        np.cos(2 * np.pi * t), np.sin(2 * np.pi * t),
        np.cos(4 * np.pi * t), np.sin(4 * np.pi * t),
        np.cos(2 * np.pi * t / 7), np.sin(2 * np.pi * t / 7),
    ], axis=1).astype(np.float32)
    level = np.maximum(0.0, 1.0 + growth_per_day * days).astype(np.float32)

    demands = np.empty((steps, p), dtype=np.float32)
    half_var = np.float32(0.5 * noise * noise)
    c = block_steps_for(p)
    n_blocks = -(-steps // c)
    local = threading.local()
    # Auto-scaling needs the busiest direction's peak under normal routing: each block is
    # routed right after it is generated, while it is still in cache.
    plan = LoadPlan(topology, src=src, dst=dst) if peak_utilization is not None else None
    block_peaks = np.zeros(n_blocks)
    block_max = np.zeros(n_blocks)
    capacity = topology.direction_capacity.astype(np.float32)

    def fill(k: int) -> None:
        # Block k's noise comes from its own stream, so the result does not depend on how
        # many threads fill the blocks, nor in which order.
        a, b = k * c, min((k + 1) * c, steps)
        out = demands[a:b]
        np.matmul(basis[a:b], coef, out=out)
        out += np.float32(1.0)
        out *= gravity32
        out *= level[a:b, None]
        if noise > 0:
            if not hasattr(local, "z"):
                local.z = np.empty((c, p), dtype=np.float32)
            z = local.z[: b - a]
            nrng = np.random.default_rng(
                np.random.SeedSequence(noise_seq.entropy, spawn_key=(*noise_seq.spawn_key, k)))
            nrng.standard_normal(out=z, dtype=np.float32)
            z *= np.float32(noise)
            z -= half_var
            np.exp(z, out=z)
            out *= z
        np.maximum(out, 0.0, out=out)  # float32 rounding guard: never negative
        block_max[k] = float(out.max()) if out.size else 0.0
        if plan is not None:
            loads, _ = plan.apply(out)
            block_peaks[k] = float((loads / capacity).max()) if loads.size else 0.0

    run_in_threads(fill, range(n_blocks))

    tm = TrafficMatrixSeries(tuple(nd.id for nd in topology.nodes), src, dst, demands,
                             float(step_minutes), start)
    if peak_utilization is None:
        return tm
    scale_to_peak(demands, float(block_peaks.max()), peak_utilization, float(block_max.max()), topology.name)
    return tm


def scale_to_peak(demands: np.ndarray, peak: float, peak_utilization: float, demand_max: float,
                  topology_name: str) -> None:
    """Scale ``demands`` in place so that the busiest direction, now at ``peak`` (load / capacity),
    peaks at ``peak_utilization``; InputError when nothing crosses a link or a demand would pass
    float32's largest value (``demand_max``: the largest demand now).

    >>> d = np.array([[1.0, 2.0]], np.float32)
    >>> scale_to_peak(d, 0.5, 0.25, 2.0, "t"); d.tolist()
    [[0.5, 1.0]]
    """
    if not peak > 0:
        raise InputError(f"topology '{topology_name}'",
                         "no demand crosses any link, so traffic cannot be scaled to a peak utilisation")
    scale = peak_utilization / peak
    if demand_max * scale > _FLOAT32_MAX:
        raise InputError("peak_utilization", f"{peak_utilization:g} would make demands above float32's largest "
                                             f"value ({_FLOAT32_MAX:.4g} Mbit/s)")
    demands *= np.float32(scale)
