"""How good the intervals and the overload warnings are.

Intervals (per period, all directions pooled, the H-step-ahead interval of each target step):

- ``coverage``: % of valid points with lower <= actual <= upper;
- ``width``: mean upper - lower, Mbit/s;
- ``winkler``: the interval score of Winkler (1972) / Gneiting and Raftery (2007) at miscoverage
  alpha: width + (2 / alpha) x (how far the actual falls outside), Mbit/s; lower is better.

Overload warnings at a utilisation threshold theta (fraction of capacity):

- a warning is *raised* at step t for a direction when the highest upper bound of the H forecasts
  made at t reaches theta x capacity while the last observed load (t - 1) was below it;
- it is *true* if the actual load reaches the threshold on that direction within t .. t + H - 1;
  ``precision`` = true / raised;
- a *crossing* is a step s where the actual reaches the threshold and was below it at s - 1 (only
  crossings from train + H - 1 on count, so a warning could have been raised for them); its
  *lead* is s minus the first step of s - H + 1 .. s at which a warning was raised for it;
  ``recall`` = crossings with a warning / crossings, ``recall_3`` = with a lead of at least 3
  steps; ``lead_steps_median`` over the warned crossings.

The **sustained** rule (what the scores ``warn_sus@THRESHOLD_<name>`` measure, and the rule of the
Live page's warning list): a warning is raised at t only when the highest upper bound reached
theta x capacity in at least 2 of the 3 forecasts made at t - 2, t - 1, t, the one made at t among
them (and the last observed load was below it); a single spike of the bound does not warn. It is scored at the run's threshold and at 0.5, 0.7 and 0.9 of capacity, so precision is
reported per threshold.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from netdrift.engine.results import MetricRow

__all__ = ["interval_rows", "warning_scores", "warning_rows", "WARNING_METRICS"]

WARNING_METRICS = ("precision", "recall", "recall_3", "lead_steps_median", "raised", "crossings")
#: The sustained rule: at least SUSTAINED[0] of the last SUSTAINED[1] forecasts above the threshold.
SUSTAINED = (2, 3)
#: Thresholds (fraction of capacity) the sustained rule is scored at, besides the run's own.
SUSTAINED_THRESHOLDS = (0.5, 0.7, 0.9)


def interval_rows(model: str, actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float,
                  periods: Sequence[tuple[str, int, int]]) -> list[MetricRow]:
    """Aggregate ``coverage`` (%), ``width`` and ``winkler`` (Mbit/s) rows per period.

    >>> import numpy as np
    >>> a = np.array([[1.0], [5.0], [2.0], [2.0]])
    >>> lo, up = np.zeros((4, 1)), np.full((4, 1), 3.0)
    >>> [(r.metric, r.value) for r in interval_rows("m", a, lo, up, 0.5, [("pre", 0, 4)])]
    [('coverage', 75.0), ('width', 3.0), ('winkler', 5.0)]
    """
    alpha = 1.0 - level
    rows: list[MetricRow] = []
    for period, lo, hi in periods:
        y, lw, up = actual[lo:hi], lower[lo:hi], upper[lo:hi]
        ok = np.isfinite(y) & np.isfinite(lw) & np.isfinite(up)
        if not ok.any():
            continue
        y, lw, up = y[ok].astype(np.float64), lw[ok].astype(np.float64), up[ok].astype(np.float64)
        covered = (y >= lw) & (y <= up)
        width = up - lw
        score = width + (2.0 / alpha) * (np.maximum(lw - y, 0.0) + np.maximum(y - up, 0.0))
        rows += [MetricRow(model, period, "coverage", float(100.0 * covered.mean())),
                 MetricRow(model, period, "width", float(width.mean())),
                 MetricRow(model, period, "winkler", float(score.mean()))]
    return rows


def warning_scores(actual: np.ndarray, peak_upper: np.ndarray, capacity: np.ndarray, threshold: float,
                   horizon: int, start: int, sustained: tuple[int, int] = (1, 1)) -> dict[str, float | int | None]:
    """Precision, recall (any lead and >= 3 steps), median lead, counts; see the module docstring.

    ``sustained=(k, m)``: a warning needs the bound above the threshold in k of the last m
    forecasts (``(1, 1)``: the plain rule).

    >>> import numpy as np
    >>> a = np.array([[50.0], [60.0], [70.0], [95.0], [96.0]])     # crosses 90 at step 3
    >>> peak = np.array([[60.0], [92.0], [93.0], [99.0], [99.0]])  # warns at steps 1, 2, 3 (upper >= 90)
    >>> s = warning_scores(a, peak, np.array([100.0]), 0.9, horizon=3, start=1)
    >>> s["raised"], s["precision"], s["recall"], s["lead_steps_median"]
    (3, 1.0, 1.0, 2.0)
    """
    a = np.asarray(actual, dtype=np.float64)
    cap = np.asarray(capacity, dtype=np.float64)
    limit = threshold * cap
    n = a.shape[0]
    over = np.isfinite(a) & (a >= limit)
    below_before = np.zeros_like(over)
    below_before[1:] = np.isfinite(a[:-1]) & (a[:-1] < limit)
    peak = np.asarray(peak_upper, dtype=np.float64)
    above = np.isfinite(peak) & (peak >= limit)
    k, m = sustained
    if m > 1:
        c_above = np.vstack([np.zeros((1, a.shape[1])), np.cumsum(above, axis=0)])
        lo = np.maximum(np.arange(n) + 1 - m, 0)
        above = above & (c_above[np.arange(n) + 1] - c_above[lo] >= k)
    raised = above & below_before
    raised[:start] = False
    # over anywhere in t .. t + H - 1, by a cumulative sum along time
    c = np.vstack([np.zeros((1, a.shape[1])), np.cumsum(over, axis=0)])
    ahead = c[np.minimum(np.arange(n) + horizon, n)] - c[np.arange(n)] > 0
    n_raised = int(raised.sum())
    precision = float((raised & ahead).sum() / n_raised) if n_raised else None
    onset = over & below_before
    onset[: max(start + horizon - 1, 1)] = False
    leads = []
    steps, dirs = np.nonzero(onset)
    for s_, d in zip(steps, dirs):
        first = max(start, s_ - horizon + 1)
        hits = np.flatnonzero(raised[first: s_ + 1, d])
        leads.append(None if hits.size == 0 else int(s_ - (first + hits[0])))
    found = [x for x in leads if x is not None]
    n_cross = len(leads)
    return {
        "precision": precision,
        "recall": float(len(found) / n_cross) if n_cross else None,
        "recall_3": float(sum(1 for x in found if x >= 3) / n_cross) if n_cross else None,
        "lead_steps_median": float(np.median(found)) if found else None,
        "raised": n_raised,
        "crossings": n_cross,
    }


def warning_rows(model: str, scores: Mapping[str, float | int | None], prefix: str = "") -> list[MetricRow]:
    """The scores as metric rows of period ``"run"`` (metric ``warn_<prefix><name>``)."""
    return [MetricRow(model, "run", f"warn_{prefix}{k}", None if (v := scores[k]) is None else float(v))
            for k in WARNING_METRICS]


def sustained_warning_rows(model: str, actual: np.ndarray, peak_upper: np.ndarray, capacity: np.ndarray,
                           threshold: float, horizon: int, start: int) -> list[MetricRow]:
    """The sustained rule's scores at the run's threshold and :data:`SUSTAINED_THRESHOLDS`
    (metric ``warn_sus@0.90_<name>``, at most 32 characters as the history stores them)."""
    rows: list[MetricRow] = []
    for theta in sorted({round(float(threshold), 4), *SUSTAINED_THRESHOLDS}):
        scores = warning_scores(actual, peak_upper, capacity, theta, horizon, start, SUSTAINED)
        rows += warning_rows(model, scores, f"sus@{theta:.2f}_")
    return rows
