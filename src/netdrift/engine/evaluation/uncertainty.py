"""How sure a figure is: intervals over seeds, and a paired block bootstrap of model differences.

- Across K runs (model seeds, and traffic seeds for synthetic traffic), a metric is reported as its
  mean and a 95 % Student-t interval of the mean (none for K = 1).
- A model against a baseline (persistence): the RMSE difference over a period, with a 95 %
  interval from a paired moving-block bootstrap (Kunsch 1989): the steps of each run are
  resampled in blocks (the same blocks for both models, so their shared difficulty cancels), the
  runs' resamples pooled, the statistic recomputed; blocks keep the errors' autocorrelation
  (bursts, the daily cycle) inside each resample. "within noise" when the interval spans zero.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from scipy import stats

__all__ = ["mean_interval", "step_squared_errors", "paired_block_bootstrap"]


def mean_interval(values: Sequence[float | None], level: float = 0.95) -> dict[str, Any]:
    """``{mean, ci: [lo, hi], n}`` over the finite values (ci None with fewer than 2).

    >>> r = mean_interval([1.0, 2.0, 3.0])
    >>> r["mean"], [round(x, 3) for x in r["ci"]]
    (2.0, [-0.484, 4.484])
    """
    x = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return {"mean": None, "ci": None, "n": 0}
    mean = float(x.mean())
    if x.size < 2:
        return {"mean": mean, "ci": None, "n": 1}
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return {"mean": mean, "ci": [mean - half, mean + half], "n": int(x.size)}


def step_squared_errors(actual: np.ndarray, forecast: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """(hi - lo,) mean squared error over the directions of each step (NaN points left out)."""
    e = np.asarray(forecast[lo:hi], np.float64) - np.asarray(actual[lo:hi], np.float64)
    ok = np.isfinite(e)
    n = ok.sum(axis=1)
    return np.where(n > 0, np.where(ok, e * e, 0.0).sum(axis=1) / np.maximum(n, 1), np.nan)


def paired_block_bootstrap(model: Sequence[np.ndarray], base: Sequence[np.ndarray], block: int,
                           n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, object]:
    """RMSE(model) - RMSE(base) over pooled runs with its bootstrap interval.

    ``model[k]`` and ``base[k]`` are run k's per-step squared errors (same steps). Returns
    ``{estimate, ci: [lo, hi], within_noise}``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = [rng.normal(0, 1, 500) ** 2]; b = [rng.normal(0, 2, 500) ** 2]
    >>> r = paired_block_bootstrap(a, b, block=10)
    >>> -1.3 < r["estimate"] < -0.7, r["within_noise"]   # RMSE 1 against 2
    (True, False)
    """
    rng = np.random.default_rng(seed)
    pairs = []
    for m, b in zip(model, base):
        ok = np.isfinite(m) & np.isfinite(b)
        if ok.sum() > 0:
            pairs.append((np.asarray(m, np.float64)[ok], np.asarray(b, np.float64)[ok]))
    if not pairs:
        return {"estimate": None, "ci": None, "within_noise": None}

    def stat(ms: np.ndarray, bs: np.ndarray) -> np.ndarray:
        return np.sqrt(ms) - np.sqrt(bs)

    total = sum(len(m) for m, _ in pairs)
    estimate = float(stat(np.array(sum(m.sum() for m, _ in pairs) / total),
                          np.array(sum(b.sum() for _, b in pairs) / total)))
    sum_m = np.zeros(n_boot)
    sum_b = np.zeros(n_boot)
    for m, b in pairs:
        n = len(m)
        size = max(1, min(block, n))
        n_blocks = -(-n // size)
        starts = rng.integers(0, n, (n_boot, n_blocks))
        idx = ((starts[:, :, None] + np.arange(size)) % n).reshape(n_boot, -1)[:, :n]  # circular blocks
        sum_m += m[idx].sum(axis=1)
        sum_b += b[idx].sum(axis=1)
    boot = stat(sum_m / total, sum_b / total)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return {"estimate": estimate, "ci": [float(lo), float(hi)], "within_noise": bool(lo <= 0.0 <= hi)}
