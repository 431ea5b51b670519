"""Forecast error metrics, drift magnitude and time to convergence after a failure.

All arrays are over steps x link-directions, ``(T, D)``, in Mbit/s; ``capacity`` is ``(D,)``
in Mbit/s per direction. A NaN (or infinite) actual marks a missing interval and a NaN
forecast marks "no forecast yet": such points are left out of every metric.

Definitions (``e = forecast - actual``, over the valid points of a period):

- ``rmse = sqrt(mean(e**2))`` and ``mae = mean(|e|)``, Mbit/s.
- ``nrmse = 100 * sqrt(mean((e / capacity)**2))``, % of capacity; for one direction this is
  ``100 * rmse / capacity``; the aggregate pools the capacity-normalised errors of all points.
- ``mape = mean(100 * |e| / |actual|)``, %, over the points whose actual is at least
  ``low_load_fraction * capacity`` (and not 0); the number of valid points left out this way
  is ``mape_excluded``.
- ``smape = mean(200 * |e| / (|actual| + |forecast|))``, %, a pair of zeros counting as 0.

Aggregates (``direction=None``) pool all points of all directions (not a mean of the
per-direction values). A metric with no valid point is NaN (``None`` in a :class:`MetricRow`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.errors import InputError
from engine.results import MetricRow

__all__ = [
    "MetricsConfig",
    "ERROR_METRICS",
    "error_metrics",
    "aggregate_error_metrics",
    "drift_magnitude",
    "drift_class",
    "affected_directions",
    "time_to_convergence",
    "scenario_metrics",
    "summary_table",
]

#: Metric names produced by :func:`error_metrics`, in row order.
ERROR_METRICS: tuple[str, ...] = ("rmse", "mae", "nrmse", "mape", "smape", "mape_excluded")


@dataclass(frozen=True)
class MetricsConfig:
    """Settings of the metrics.

    ``convergence_window`` (M, steps) and ``convergence_tau`` (%, MAPE) define time to
    convergence; ``low_load_fraction`` of capacity is the MAPE exclusion floor;
    ``affected_threshold`` / ``drastic_threshold`` classify drift magnitude (fractions).
    """

    convergence_window: int = 12
    convergence_tau: float = 10.0
    low_load_fraction: float = 0.01
    affected_threshold: float = 0.10
    drastic_threshold: float = 0.50

    def __post_init__(self) -> None:
        if int(self.convergence_window) != self.convergence_window or self.convergence_window < 1:
            raise InputError("convergence_window", f"must be a whole number of steps >= 1, got {self.convergence_window}")
        for name in ("convergence_tau", "low_load_fraction", "affected_threshold", "drastic_threshold"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise InputError(name, f"must be a finite number >= 0, got {value}")
        if self.drastic_threshold < self.affected_threshold:
            raise InputError("drastic_threshold", "must be at least affected_threshold")


# --------------------------------------------------------------------------- validation


def _as_2d(name: str, x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise InputError(name, f"must be a (steps, directions) array, got shape {a.shape}")
    return a


def _capacity(capacity: np.ndarray, n_dirs: int) -> np.ndarray:
    cap = np.asarray(capacity, dtype=np.float64)
    try:
        cap = np.broadcast_to(cap, (n_dirs,))
    except ValueError:
        raise InputError("capacity", f"must have one value per direction ({n_dirs}), got shape {cap.shape}") from None
    if not np.all(np.isfinite(cap) & (cap > 0)):
        raise InputError("capacity", "every direction needs a finite capacity > 0 Mbit/s")
    return cap


def _pair(actual: np.ndarray, forecast: np.ndarray, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = _as_2d("actual", actual)
    f = _as_2d("forecast", forecast)
    if f.shape != a.shape:
        raise InputError("forecast", f"shape {f.shape} differs from the actual loads' {a.shape}")
    return a, f, _capacity(capacity, a.shape[1])


# --------------------------------------------------------------------------- error metrics


_TERMS = ("n", "sse", "sae", "n_ape", "sum_ape", "sum_sape", "n_low")


def _point_terms(a: np.ndarray, f: np.ndarray, cap: np.ndarray, low_load_fraction: float) -> np.ndarray:
    """Per-point terms ``(len(_TERMS), T, D)`` whose sums over any steps give every metric."""
    terms = np.zeros((len(_TERMS), *a.shape))
    valid = np.isfinite(a) & np.isfinite(f)
    invalid = ~valid
    abs_a = np.abs(a)
    abs_a[invalid] = 0.0
    abs_f = np.abs(f)
    abs_f[invalid] = 0.0
    with np.errstate(invalid="ignore"):  # inf - inf at points that are masked out anyway
        abs_e = np.abs(f - a)
    abs_e[invalid] = 0.0
    low = valid & ((abs_a < low_load_fraction * cap) | (abs_a == 0))
    use_ape = valid & ~low
    denom = abs_a + abs_f
    terms[0] = valid
    np.multiply(abs_e, abs_e, out=terms[1])
    terms[2] = abs_e
    terms[3] = use_ape
    np.divide(abs_e, abs_a, out=terms[4], where=use_ape)
    terms[4] *= 100.0
    np.divide(abs_e, denom, out=terms[5], where=denom > 0)
    terms[5] *= 200.0
    terms[6] = low
    return terms


def _sums(total: np.ndarray, cap: np.ndarray) -> dict[str, np.ndarray]:
    """Named per-direction sums from point terms summed over steps, ``(len(_TERMS), D)``;
    pool directions by adding them."""
    sums = dict(zip(_TERMS, total))
    sums["sse_norm"] = sums["sse"] / cap**2
    return sums


def _metrics_from_sums(s: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
        return np.divide(num, den, out=np.full(np.shape(num), np.nan), where=den > 0)

    return {
        "rmse": np.sqrt(ratio(s["sse"], s["n"])),
        "mae": ratio(s["sae"], s["n"]),
        "nrmse": 100.0 * np.sqrt(ratio(s["sse_norm"], s["n"])),
        "mape": ratio(s["sum_ape"], s["n_ape"]),
        "smape": ratio(s["sum_sape"], s["n"]),
        "mape_excluded": np.rint(s["n_low"]).astype(np.int64),
    }


def error_metrics(
    actual: np.ndarray, forecast: np.ndarray, capacity: np.ndarray, low_load_fraction: float = 0.01
) -> dict[str, np.ndarray]:
    """Per-direction error metrics of ``forecast`` against ``actual`` (both ``(T, D)``).

    Returns ``{name: (D,) array}`` for ``rmse``, ``mae`` (Mbit/s), ``nrmse``, ``mape``,
    ``smape`` (%) and ``mape_excluded`` (int count); see the module docstring. A direction
    with no valid point gets NaN.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[100.0], [200.0], [0.5]])
    >>> f = np.array([[110.0], [180.0], [1.5]])
    >>> m = error_metrics(a, f, np.array([1000.0]))
    >>> float(m["mae"][0]), float(m["mape"][0]), int(m["mape_excluded"][0])
    (10.333333333333334, 10.0, 1)
    """
    a, f, cap = _pair(actual, forecast, capacity)
    return _metrics_from_sums(_sums(_point_terms(a, f, cap, low_load_fraction).sum(axis=1), cap))


def aggregate_error_metrics(
    actual: np.ndarray, forecast: np.ndarray, capacity: np.ndarray, low_load_fraction: float = 0.01
) -> dict[str, float]:
    """The metrics of :func:`error_metrics` over all points of all directions pooled.

    ``rmse`` is the RMS over every point (not a mean of per-direction RMSEs); ``nrmse`` the RMS
    of errors each divided by its own direction's capacity; ``mape_excluded`` the total count.

    >>> import numpy as np
    >>> a = np.array([[10.0, 100.0]]); f = np.array([[13.0, 104.0]])
    >>> aggregate_error_metrics(a, f, np.array([100.0, 1000.0]))["rmse"]
    3.5355339059327378
    """
    a, f, cap = _pair(actual, forecast, capacity)
    sums = {k: v.sum() for k, v in _sums(_point_terms(a, f, cap, low_load_fraction).sum(axis=1), cap).items()}
    return {k: (int(v) if k == "mape_excluded" else float(v)) for k, v in _metrics_from_sums(sums).items()}


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


# --------------------------------------------------------------------------- scenario


def _value(x: float | np.floating | np.integer) -> float | None:
    """A metric value for a MetricRow: NaN (no data) becomes None; counts stay ints."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    v = float(x)
    return None if np.isnan(v) else v


def scenario_metrics(
    actual: np.ndarray,
    forecasts: Mapping[str, np.ndarray],
    capacity: np.ndarray,
    train_steps: int,
    fail_steps: Sequence[int],
    steps_per_day: int,
    config: MetricsConfig = MetricsConfig(),
) -> list[MetricRow]:
    """All metric rows of a scenario.

    Periods: ``"pre"`` = ``[train_steps, first failure)`` (to the end if no failure),
    ``"post"`` = ``[first failure, T)``, and ``"event:K"`` = ``[fail_steps[K], fail_steps[K+1])``
    (the last to ``T``), K counting the failure events from 0. Every period starts no earlier
    than ``train_steps`` (in-sample forecasts are not scored); a period left empty has no
    error rows.

    Rows: for each model, period and metric of :data:`ERROR_METRICS`, one aggregate row
    (``direction=None``) and one per direction; per failure K, a ``"ttc"`` row per model
    (aggregate, None = censored) measured over :func:`affected_directions` of that event's
    drift; and ``"drift"`` rows of model ``"actual"`` per direction (a fraction; may be
    ``inf``, None where a side of the event has no data).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.full((8, 2), 100.0); a[4:, 0] = 200.0
    >>> f = {"persist": np.vstack([np.full((1, 2), np.nan), a[:-1]])}
    >>> rows = scenario_metrics(a, f, np.array([1000.0, 1000.0]), 2, [4], 4,
    ...                         MetricsConfig(convergence_window=2))
    >>> line = summary_table(rows)["persist"]
    >>> line["mae_post"], line["ttc_steps"]   # one 100 Mbit/s miss over 4 steps x 2 directions
    (12.5, [1])
    """
    a = _as_2d("actual", actual)
    n_steps, n_dirs = a.shape
    cap = _capacity(capacity, n_dirs)
    if int(train_steps) != train_steps or not 0 <= train_steps <= n_steps:
        raise InputError("train_steps", f"must be a whole number in 0..{n_steps}, got {train_steps}")
    fails = [int(s) for s in fail_steps]
    if any(not 0 <= s < n_steps for s in fails):
        raise InputError("fail_steps", f"every failure step must lie in 0..{n_steps - 1}, got {fails}")
    if fails != sorted(fails):
        raise InputError("fail_steps", f"must be sorted, got {fails}")
    fc = {}
    for name, f in forecasts.items():
        fa = _as_2d(f"forecast '{name}'", f)
        if fa.shape != a.shape:
            raise InputError(f"forecast '{name}'", f"shape {fa.shape} differs from the actual loads' {a.shape}")
        fc[name] = fa

    periods: list[tuple[str, int, int]] = []
    first = fails[0] if fails else n_steps
    periods.append(("pre", train_steps, first))
    if fails:
        periods.append(("post", first, n_steps))
    for k, s in enumerate(fails):
        periods.append((f"event:{k}", s, fails[k + 1] if k + 1 < len(fails) else n_steps))
    periods = [(p, max(lo, train_steps), hi) for p, lo, hi in periods if hi > max(lo, train_steps)]
    bounds = sorted({b for _, lo, hi in periods for b in (lo, hi)})

    drifts = [drift_magnitude(a, s, steps_per_day) for s in fails]
    rows: list[MetricRow] = []
    for model, f in fc.items():
        terms = _point_terms(a[train_steps:], f[train_steps:], cap, config.low_load_fraction)
        # Sum each stretch between period bounds once; a period adds up its stretches.
        stretch = [terms[:, lo - train_steps : hi - train_steps].sum(axis=1) for lo, hi in zip(bounds, bounds[1:])]
        for period, lo, hi in periods:
            sums = _sums(sum(stretch[bounds.index(lo) : bounds.index(hi)]), cap)
            per_dir = _metrics_from_sums(sums)
            pooled = _metrics_from_sums({k: v.sum() for k, v in sums.items()})
            for metric in ERROR_METRICS:
                rows.append(MetricRow(model, period, metric, _value(pooled[metric][()])))
                values = per_dir[metric].tolist()
                rows.extend(
                    MetricRow(model, period, metric, None if v != v else v, d) for d, v in enumerate(values)
                )
        for k, s in enumerate(fails):
            ttc = time_to_convergence(a, f, s, affected_directions(drifts[k], config), cap, config)
            rows.append(MetricRow(model, f"event:{k}", "ttc", ttc))
    for k, drift in enumerate(drifts):
        rows.extend(
            MetricRow("actual", f"event:{k}", "drift", None if v != v else v, d) for d, v in enumerate(drift.tolist())
        )
    return rows


def summary_table(rows: Sequence[MetricRow]) -> dict[str, dict[str, float | None | list]]:
    """One line per model from the aggregate rows of :func:`scenario_metrics`.

    ``{model: {rmse_pre, rmse_post, mape_pre, mape_post, mae_post, smape_post, ttc_steps}}``;
    a missing value is None and ``ttc_steps`` lists the TTC (None = censored) of each failure
    event in order. The drift rows (model ``"actual"``) are not models and are left out.
    """
    keys = {("pre", "rmse"): "rmse_pre", ("post", "rmse"): "rmse_post", ("pre", "mape"): "mape_pre",
            ("post", "mape"): "mape_post", ("post", "mae"): "mae_post", ("post", "smape"): "smape_post"}
    table: dict[str, dict[str, float | None | list]] = {}
    ttcs: dict[str, dict[int, float | None]] = {}
    for r in rows:
        if r.model == "actual" and r.metric == "drift":
            continue
        line = table.setdefault(r.model, {**{name: None for name in keys.values()}, "ttc_steps": []})
        if r.direction is not None:
            continue
        if r.metric == "ttc" and r.period.startswith("event:"):
            ttcs.setdefault(r.model, {})[int(r.period.split(":", 1)[1])] = r.value
        elif (r.period, r.metric) in keys:
            line[keys[(r.period, r.metric)]] = r.value
    for model, by_event in ttcs.items():
        table[model]["ttc_steps"] = [by_event[k] for k in sorted(by_event)]
    return table
