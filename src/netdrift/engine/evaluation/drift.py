"""What a failure does to the loads (drift) and how fast a model recovers (time to convergence).

Arrays as in :mod:`netdrift.engine.evaluation.metrics`: ``(T, D)`` Mbit/s, NaN = missing.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from netdrift.engine.errors import InputError
from netdrift.engine.evaluation.metrics import MetricsConfig, _as_2d, _pair

__all__ = ["drift_magnitude", "drift_class", "affected_directions", "time_to_convergence"]


# --------------------------------------------------------------------------- drift


def drift_magnitude(actual: np.ndarray, event_step: int, steps_per_day: int) -> np.ndarray:
    """Relative change of each direction's mean load across ``event_step``, as a fraction.

    ``(mean_after - mean_before) / mean_before`` with ``before = [event - day, event)`` and
    ``after = [event, event + day)``, both clipped to the run; NaN actuals are ignored. A side
    with no data gives NaN; ``mean_before == 0`` gives ``+inf`` if the load rose (``-inf`` if it
    fell, impossible for real loads) and 0 if it stayed 0.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[10.0, 4.0, 0.0], [10.0, 4.0, 0.0], [15.0, 1.0, 3.0], [15.0, 1.0, 3.0]])
    >>> drift_magnitude(a, 2, 2).tolist()
    [0.5, -0.75, inf]
    """
    a = _as_2d("actual", actual)
    n_steps = a.shape[0]
    if int(steps_per_day) != steps_per_day or steps_per_day < 1:
        raise InputError("steps_per_day", f"must be a whole number >= 1, got {steps_per_day}")
    if not 0 <= event_step < n_steps:
        raise InputError("event_step", f"{event_step} is outside the run (0..{n_steps - 1})")
    before = a[max(0, event_step - steps_per_day) : event_step]
    after = a[event_step : min(n_steps, event_step + steps_per_day)]
    mean_before, mean_after = _nanmean0(before), _nanmean0(after)
    with np.errstate(divide="ignore", invalid="ignore"):
        drift = (mean_after - mean_before) / mean_before
    zero = mean_before == 0
    after0 = mean_after[zero]
    drift[zero] = np.where(after0 > 0, np.inf, np.where(after0 < 0, -np.inf, 0.0))
    drift[np.isnan(mean_before) | np.isnan(mean_after)] = np.nan
    return drift


def _nanmean0(x: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring non-finite values; NaN (no warning) where a column is empty."""
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    total = np.where(ok, x, 0.0).sum(axis=0)
    return np.divide(total, n, out=np.full(x.shape[1], np.nan), where=n > 0)


def drift_class(drift: np.ndarray, config: MetricsConfig = MetricsConfig()) -> np.ndarray:
    """Classify drift magnitudes: ``"drastic"`` if ``|drift| > drastic_threshold``,
    ``"moderate"`` if only ``|drift| > affected_threshold``, else ``"none"`` (NaN included).

    >>> drift_class(np.array([0.05, -0.2, 0.6, np.inf, np.nan])).tolist()
    ['none', 'moderate', 'drastic', 'drastic', 'none']
    """
    mag = np.abs(np.asarray(drift, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        affected = mag > config.affected_threshold
        drastic = mag > config.drastic_threshold
    return np.where(drastic, "drastic", np.where(affected, "moderate", "none"))


def affected_directions(drift: np.ndarray, config: MetricsConfig = MetricsConfig()) -> np.ndarray:
    """Indices of the directions a failure affected, used for its time to convergence.

    Those with ``|drift| > affected_threshold``; if there are none, those whose mean load
    changed at all (``drift != 0``, NaN excluded); if still none, every direction.

    >>> affected_directions(np.array([0.0, 0.3, -0.05])).tolist(), affected_directions(np.array([0.0, -0.05])).tolist()
    ([1], [1])
    """
    d = np.asarray(drift, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        for mask in (np.abs(d) > config.affected_threshold, (d != 0) & ~np.isnan(d)):
            if mask.any():
                return np.flatnonzero(mask)
    return np.arange(d.shape[0])


# --------------------------------------------------------------------------- convergence


def time_to_convergence(
    actual: np.ndarray,
    forecast: np.ndarray,
    event_step: int,
    directions: np.ndarray,
    capacity: np.ndarray,
    config: MetricsConfig = MetricsConfig(),
) -> int | None:
    """Steps after ``event_step`` until the forecast error has settled, or None (censored).

    With ``M = convergence_window`` and ``tau = convergence_tau``:

    - ``APE(t, d) = 100 * |forecast - actual| / actual`` for each chosen direction ``d``,
      left out where either value is NaN or the actual is below ``low_load_fraction`` of
      capacity (as in MAPE);
    - the rolling MAPE at step ``s``, ``R(s)``, is the mean of the APEs kept in the window
      ``[s, s + M)`` over all chosen directions pooled; it exists only if ``s + M <= T`` and
      is undefined (counts as not converged) when the window keeps no APE;
    - TTC is the smallest ``k >= 0`` with ``R(event + k + j) <= tau`` for every ``j`` in
      ``0..M-1``. If no such ``k`` has all its windows inside the run, it is censored: None.

    ``directions`` is an array of direction indices or a ``(D,)`` boolean mask.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.full((40, 1), 100.0)
    >>> f = a.copy(); f[10:15] = 150.0   # 50% error for 5 steps after a failure at step 10
    >>> time_to_convergence(a, f, 10, np.array([0]), np.array([1000.0]),
    ...                     MetricsConfig(convergence_window=4))
    5
    >>> print(time_to_convergence(a, f, 30, np.array([0]), np.array([1000.0])))  # run too short
    None
    """
    a, f, cap = _pair(actual, forecast, capacity)
    n_steps, n_dirs = a.shape
    if not 0 <= event_step < n_steps:
        raise InputError("event_step", f"{event_step} is outside the run (0..{n_steps - 1})")
    idx = _direction_indices(directions, n_dirs)
    m = int(config.convergence_window)
    a, f, cap = a[event_step:, idx], f[event_step:, idx], cap[idx]
    if a.shape[0] < 2 * m - 1:  # not even k = 0 has its M windows of M steps inside the run
        return None
    valid = np.isfinite(a) & np.isfinite(f)
    abs_a = np.abs(np.where(valid, a, 0.0))
    use = valid & (abs_a >= config.low_load_fraction * cap) & (abs_a > 0)
    a_kept, f_kept = np.where(use, a, 1.0), np.where(use, f, 1.0)  # APE 0 where not kept
    ape = 100.0 * np.abs(f_kept - a_kept) / np.abs(a_kept)
    # Windowed sums (not cumsum differences) so a hand-checkable R(s) == tau stays exact.
    win_sum = sliding_window_view(ape.sum(axis=1), m).sum(axis=1)
    win_cnt = sliding_window_view(use.sum(axis=1), m).sum(axis=1)
    rolling = np.divide(win_sum, win_cnt, out=np.full(win_sum.shape, np.nan), where=win_cnt > 0)
    with np.errstate(invalid="ignore"):
        ok = rolling <= config.convergence_tau
    settled = sliding_window_view(ok, m).all(axis=1)
    hits = np.flatnonzero(settled)
    return int(hits[0]) if hits.size else None


def _direction_indices(directions: np.ndarray, n_dirs: int) -> np.ndarray:
    d = np.asarray(directions)
    if d.dtype == bool:
        if d.shape != (n_dirs,):
            raise InputError("directions", f"a boolean mask must have shape ({n_dirs},), got {d.shape}")
        d = np.flatnonzero(d)
    elif d.size and not np.issubdtype(d.dtype, np.integer):
        raise InputError("directions", "must be integer direction indices or a boolean mask")
    d = d.astype(np.int64).ravel()
    if d.size == 0:
        raise InputError("directions", "is empty: no link direction to measure convergence on")
    if d.min() < 0 or d.max() >= n_dirs:
        raise InputError("directions", f"indices must lie in 0..{n_dirs - 1}")
    return d
