"""What the failure did, measured against the same traffic routed without it (the counterfactual).

A weekday change is not a failure's drift: comparing the loads before and after a failure mixes
the two (on real traffic 25 of 30 directions looked "affected" by a Sunday-to-Monday change with
no failure at all). The engine can route the same traffic without the failure exactly, so:

- ``drift`` per direction = mean |load with the failure - load without it| / mean load without it,
  over the first day after the first failure (a fraction; ``inf`` when the direction carried
  nothing without the failure and something with it, 0 when it carried nothing either way);
- classes: ``none`` below ``affected_threshold`` (0.10), ``drastic`` from ``drastic_threshold``
  (0.50), ``moderate`` between (:class:`~netdrift.engine.evaluation.metrics.MetricsConfig`);
- every model also forecasts the counterfactual run (same fitted models, same seed);
  ``excess_rmse`` of a period = its RMSE on the failure run minus its RMSE on the counterfactual
  run: what the failure cost the model, net of what the day cost it;
- ``ttc_excess``: steps after the failure until the model's rolling excess error (over the
  drifted directions, ``M = convergence_window`` steps, as % of the counterfactual load) stays at
  or below ``convergence_tau``; None = censored (never within the run).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from netdrift.engine.evaluation.metrics import MetricsConfig, aggregate_error_metrics
from netdrift.engine.results import MetricRow

__all__ = ["counterfactual_drift", "drift_classes", "excess_rows", "ttc_excess", "DRIFT_CLASSES"]

DRIFT_CLASSES = ("none", "moderate", "drastic")


def counterfactual_drift(actual: np.ndarray, counterfactual: np.ndarray, event_step: int,
                         steps_per_day: int) -> np.ndarray:
    """(D,) drift of each direction over the day after ``event_step`` (see the module docstring).

    >>> import numpy as np
    >>> cf = np.array([[10.0, 4.0, 0.0], [10.0, 4.0, 0.0], [10.0, 4.0, 0.0]])
    >>> f = np.array([[10.0, 4.0, 0.0], [15.0, 4.0, 2.0], [5.0, 4.0, 2.0]])
    >>> counterfactual_drift(f, cf, 1, 2).tolist()
    [0.5, 0.0, inf]
    """
    a = np.asarray(actual, dtype=np.float64)[event_step:event_step + steps_per_day]
    c = np.asarray(counterfactual, dtype=np.float64)[event_step:event_step + steps_per_day]
    ok = np.isfinite(a) & np.isfinite(c)
    diff = np.where(ok, np.abs(a - c), 0.0).sum(axis=0)
    base = np.where(ok, c, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        drift = diff / base
    drift[base == 0] = np.where(diff[base == 0] > 0, np.inf, 0.0)
    drift[ok.sum(axis=0) == 0] = np.nan
    return drift


def drift_classes(drift: np.ndarray, config: MetricsConfig = MetricsConfig()) -> np.ndarray:
    """Class name per direction: none / moderate / drastic (NaN drift: none).

    >>> drift_classes(np.array([0.05, 0.2, 0.7, np.inf, np.nan])).tolist()
    ['none', 'moderate', 'drastic', 'drastic', 'none']
    """
    d = np.nan_to_num(np.asarray(drift, dtype=np.float64), nan=0.0, posinf=np.inf)
    return np.where(d >= config.drastic_threshold, "drastic",
                    np.where(d >= config.affected_threshold, "moderate", "none"))


def excess_rows(model: str, actual: np.ndarray, forecast: np.ndarray, cf_actual: np.ndarray,
                cf_forecast: np.ndarray, capacity: np.ndarray,
                periods: list[tuple[str, int, int]]) -> list[MetricRow]:
    """``excess_rmse`` rows (Mbit/s, all directions pooled) of ``model`` per period."""
    rows = []
    for period, lo, hi in periods:
        with_failure = aggregate_error_metrics(actual[lo:hi], forecast[lo:hi], capacity)["rmse"]
        without = aggregate_error_metrics(cf_actual[lo:hi], cf_forecast[lo:hi], capacity)["rmse"]
        value = with_failure - without
        rows.append(MetricRow(model, period, "excess_rmse", None if not np.isfinite(value) else float(value)))
    return rows


def ttc_excess(actual: np.ndarray, forecast: np.ndarray, cf_actual: np.ndarray, cf_forecast: np.ndarray,
               event_step: int, directions: np.ndarray, config: MetricsConfig = MetricsConfig()) -> int | None:
    """Steps until the rolling excess error stays <= tau (see the module docstring); None = censored.

    >>> import numpy as np
    >>> a = np.full((30, 1), 100.0); f = a.copy(); f[10:14] = 150.0   # 4 bad steps after step 10
    >>> ttc_excess(a, f, a, a, 10, np.array([0]), MetricsConfig(convergence_window=3))
    4
    """
    m = int(config.convergence_window)
    idx = np.asarray(directions)
    if idx.dtype == bool:
        idx = np.flatnonzero(idx)
    if idx.size == 0:
        return 0
    sl = (slice(event_step, None), idx)
    err_f = np.abs(np.asarray(forecast, np.float64)[sl] - np.asarray(actual, np.float64)[sl])
    err_c = np.abs(np.asarray(cf_forecast, np.float64)[sl] - np.asarray(cf_actual, np.float64)[sl])
    base = np.asarray(cf_actual, np.float64)[sl]
    ok = np.isfinite(err_f) & np.isfinite(err_c) & np.isfinite(base)
    excess = np.where(ok, err_f - err_c, 0.0).sum(axis=1)
    load = np.where(ok, base, 0.0).sum(axis=1)
    if excess.shape[0] < 2 * m - 1:
        return None
    win_excess = sliding_window_view(excess, m).sum(axis=1)
    win_load = sliding_window_view(load, m).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(win_load > 0, 100.0 * win_excess / win_load, np.where(win_excess > 0, np.inf, 0.0))
    good = pct <= config.convergence_tau
    # the first k whose M windows k..k+M-1 are all good, and every later window is good too
    bad_after = np.flatnonzero(~good)
    k = 0 if bad_after.size == 0 else int(bad_after[-1]) + 1
    return k if k + m - 1 < good.size or (bad_after.size == 0) else None
