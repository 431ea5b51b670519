"""Forecast error metrics: the one definition of RMSE, MAE, NRMSE, MAPE and sMAPE.

Drift and time to convergence are in :mod:`netdrift.engine.evaluation.drift`; a scenario's metric rows
per period in :mod:`netdrift.engine.evaluation.scoring`.

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
from typing import Mapping

import numpy as np

from netdrift.engine.errors import InputError

__all__ = [
    "MetricsConfig",
    "ERROR_METRICS",
    "error_metrics",
    "aggregate_error_metrics",
    "per_step_error_metrics",
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


def per_step_error_metrics(
    actual: np.ndarray, forecast: np.ndarray, capacity: np.ndarray, low_load_fraction: float = 0.01
) -> dict[str, np.ndarray]:
    """The metrics of :func:`error_metrics` per step, pooling the directions of each step.

    Returns ``{name: (T,) array}``; a step with no valid point gets NaN (the same definitions,
    MAPE floor included, as every other metric here).

    >>> import numpy as np
    >>> a = np.array([[10.0, 100.0], [np.nan, 200.0]]); f = np.array([[12.0, 90.0], [5.0, 220.0]])
    >>> m = per_step_error_metrics(a, f, np.array([100.0, 1000.0]))
    >>> m["mae"].tolist(), m["mape"].tolist()
    ([6.0, 20.0], [15.0, 10.0])
    """
    a, f, cap = _pair(actual, forecast, capacity)
    terms = _point_terms(a, f, cap, low_load_fraction)
    sums = dict(zip(_TERMS, terms.sum(axis=2)))
    sums["sse_norm"] = (terms[_TERMS.index("sse")] / cap**2).sum(axis=1)
    return _metrics_from_sums(sums)
