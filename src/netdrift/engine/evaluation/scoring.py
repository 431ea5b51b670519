"""A scenario's metric rows: the periods around its failures scored with :mod:`metrics` and
:mod:`drift`, the one-line-per-model summary, and the running errors of a live run."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from netdrift.engine.errors import InputError
from netdrift.engine.evaluation.counterfactual import counterfactual_drift, drift_classes, excess_rows, ttc_excess
from netdrift.engine.evaluation.drift import affected_directions, drift_magnitude, time_to_convergence
from netdrift.engine.evaluation.interval_scores import (
    interval_rows,
    sustained_warning_rows,
    warning_rows,
    warning_scores,
)
from netdrift.engine.evaluation.metrics import (
    ERROR_METRICS,
    MetricsConfig,
    _as_2d,
    _capacity,
    _metrics_from_sums,
    _point_terms,
    _sums,
    aggregate_error_metrics,
)
from netdrift.engine.results import MetricRow, ScenarioResult

__all__ = ["scenario_metrics", "scenario_periods", "summary_table", "score_result", "running_errors"]



def score_result(result: ScenarioResult, steps_per_day: int, config: MetricsConfig | None = None,
                 horizon: int = 1, level: float | None = None, warn_utilization: float | None = None,
                 counterfactual: ScenarioResult | None = None, pre_steps: int | None = None) -> ScenarioResult:
    """``result`` with its metric rows (none until a step after training has been observed).

    With intervals in the result (``level`` their nominal coverage), also their coverage, width
    and interval score per period and, with ``warn_utilization``, the overload warnings' scores
    (:mod:`netdrift.engine.evaluation.interval_scores`). With the ``counterfactual`` run (the same traffic
    without the failures, forecast by the same fitted models), also the drift per direction
    against it and each model's excess error (:mod:`netdrift.engine.evaluation.counterfactual`).
    ``pre_steps`` limits the "pre" period to that many steps before the first failure.
    """
    t = result.actual.shape[0]
    if t <= result.train_steps:
        return replace(result, metrics=[])
    fail_steps = sorted(e.step for e in result.events if e.action == "fail" and e.step < t)
    capacity = result.topology.direction_capacity.astype(np.float32)
    config = config or MetricsConfig()
    rows = scenario_metrics(result.actual, result.forecasts, capacity, result.train_steps, fail_steps,
                            steps_per_day, config, horizon, pre_steps)
    if counterfactual is not None and fail_steps:
        rows += counterfactual_rows(result, counterfactual, fail_steps[0], steps_per_day, config, horizon)
    if result.lower and level is not None:
        periods = [p for p in scenario_periods(t, result.train_steps, fail_steps, steps_per_day, horizon, pre_steps)
                   if p[0] in ("pre", "post", "day1")]
        periods += informed_day(periods, horizon)
        for model in result.lower:
            rows += interval_rows(model, result.actual, result.lower[model], result.upper[model], level, periods)
            if warn_utilization is not None:
                scores = warning_scores(result.actual, result.peak_upper[model], capacity, warn_utilization,
                                        horizon, result.train_steps)
                rows += warning_rows(model, scores)
                rows += sustained_warning_rows(model, result.actual, result.peak_upper[model], capacity,
                                               warn_utilization, horizon, result.train_steps)
    return replace(result, metrics=rows)


def counterfactual_rows(result: ScenarioResult, cf: ScenarioResult, first_failure: int, steps_per_day: int,
                        config: MetricsConfig, horizon: int) -> list[MetricRow]:
    """Drift per direction against the counterfactual, and each model's excess RMSE and TTC."""
    capacity = result.topology.direction_capacity.astype(np.float32)
    drift = counterfactual_drift(result.actual, cf.actual, first_failure, steps_per_day)
    rows = [MetricRow("actual", "day1", "drift_cf", None if v != v else float(v), d)
            for d, v in enumerate(drift.tolist())]
    drifted = drift_classes(drift, config) != "none"
    t = result.actual.shape[0]
    periods = [p for p in scenario_periods(t, result.train_steps, [first_failure], steps_per_day, horizon)
               if p[0] in ("post", "day1")]
    for model, f in result.forecasts.items():
        if model not in cf.forecasts:
            continue
        rows += excess_rows(model, result.actual, f, cf.actual, cf.forecasts[model], capacity, periods)
        ttc = ttc_excess(result.actual, f, cf.actual, cf.forecasts[model], first_failure, drifted, config)
        rows.append(MetricRow(model, "event:0", "ttc_excess", ttc))
    return rows


def scenario_periods(n_steps: int, train_steps: int, fail_steps: Sequence[int], steps_per_day: int,
                     horizon: int = 1, pre_steps: int | None = None) -> list[tuple[str, int, int]]:
    """The scored periods ``(name, first step, end step)`` of :func:`scenario_metrics` (empty ones left out).

    ``pre`` runs from the end of training, or only the last ``pre_steps`` before the first failure.

    >>> scenario_periods(20, 4, [10], 4, horizon=3)
    [('pre', 4, 10), ('post', 10, 20), ('day1', 10, 14), ('transient', 10, 12), ('event:0', 10, 20)]
    >>> scenario_periods(20, 4, [10], 4, pre_steps=4)[0]
    ('pre', 6, 10)
    """
    fails = [int(s) for s in fail_steps]
    periods: list[tuple[str, int, int]] = []
    first = fails[0] if fails else n_steps
    pre_start = train_steps if pre_steps is None or not fails else max(train_steps, first - int(pre_steps))
    periods.append(("pre", pre_start, first))
    if fails:
        periods.append(("post", first, n_steps))
        periods.append(("day1", first, min(first + steps_per_day, n_steps)))
        periods.append(("transient", first, min(first + horizon - 1, n_steps)))
    for k, s in enumerate(fails):
        periods.append((f"event:{k}", s, fails[k + 1] if k + 1 < len(fails) else n_steps))
    return [(p, max(lo, train_steps), hi) for p, lo, hi in periods if hi > max(lo, train_steps)]


def informed_day(periods: Sequence[tuple[str, int, int]], horizon: int) -> list[tuple[str, int, int]]:
    """``[("day1_informed", first, end)]``: the steps of the first day after the failure whose
    H-step-ahead forecasts were made at or after it (the first H - 1 were made before it and
    cannot know it; no interval can be widened once shown). Empty without a first day.

    >>> informed_day([("pre", 4, 10), ("day1", 10, 14)], horizon=3)
    [('day1_informed', 12, 14)]
    """
    out = []
    for name, lo, hi in periods:
        if name == "day1" and lo + horizon - 1 < hi:
            out.append(("day1_informed", lo + horizon - 1, hi))
    return out


def running_errors(actual: np.ndarray, forecasts: dict[str, np.ndarray], capacity: np.ndarray,
                   low_load_fraction: float = 0.01) -> dict[str, dict[str, float]]:
    """{model: {"rmse_mbps", "mape_pct"}} over the given steps, all directions pooled."""
    out = {}
    for label, f in forecasts.items():
        m = aggregate_error_metrics(actual, f, capacity, low_load_fraction)
        out[label] = {"rmse_mbps": m["rmse"], "mape_pct": m["mape"]}
    return out


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
    horizon: int = 1,
    pre_steps: int | None = None,
) -> list[MetricRow]:
    """All metric rows of a scenario.

    Periods: ``"pre"`` = ``[train_steps, first failure)`` (to the end if no failure),
    ``"post"`` = ``[first failure, T)``, ``"day1"`` = the first day after the first failure,
    ``"transient"`` = the H - 1 steps after the first failure whose H-step-ahead forecast was
    made before it (none when H = 1: a forecast made at the failure step knows the failure),
    and ``"event:K"`` = ``[fail_steps[K], fail_steps[K+1])`` (the last to ``T``), K counting the
    failure events from 0. Every period starts no earlier
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

    periods = scenario_periods(n_steps, train_steps, fails, steps_per_day, horizon, pre_steps)
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
                rows.append(MetricRow(model, period, metric, _value(pooled[metric][()])))  # type: ignore[arg-type]  # a 0-d array indexed by () is a numpy scalar; numpy's stub says ndarray
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


def summary_table(rows: Sequence[MetricRow]) -> dict[str, dict[str, Any]]:
    """One line per model from the aggregate rows of :func:`scenario_metrics`.

    ``{model: {rmse_pre, rmse_post, mape_pre, mape_post, mae_post, smape_post, rmse_day1,
    rmse_transient, ttc_steps}}``, plus, when intervals ran, ``coverage_pre/post/day1`` (%),
    ``coverage_day1_informed`` (the first day without its first H - 1 steps, :func:`informed_day`),
    ``mean_width_pre/post/day1_mbps``, ``winkler_post`` and ``warnings`` (a dict of
    :data:`~netdrift.engine.evaluation.interval_scores.WARNING_METRICS`);
    a missing value is None and ``ttc_steps`` lists the TTC (None = censored) of each failure
    event in order. The drift rows (model ``"actual"``) are not models and are left out.
    """
    keys = {("pre", "rmse"): "rmse_pre", ("post", "rmse"): "rmse_post", ("pre", "mape"): "mape_pre",
            ("post", "mape"): "mape_post", ("post", "mae"): "mae_post", ("post", "smape"): "smape_post",
            ("day1", "rmse"): "rmse_day1", ("transient", "rmse"): "rmse_transient",
            ("pre", "coverage"): "coverage_pre", ("post", "coverage"): "coverage_post",
            ("day1", "coverage"): "coverage_day1", ("day1_informed", "coverage"): "coverage_day1_informed",
            ("pre", "width"): "mean_width_pre_mbps",
            ("post", "width"): "mean_width_post_mbps", ("day1", "width"): "mean_width_day1_mbps",
            ("post", "winkler"): "winkler_post",
            ("post", "excess_rmse"): "excess_rmse_post", ("day1", "excess_rmse"): "excess_rmse_day1",
            ("event:0", "ttc_excess"): "ttc_excess_steps"}
    # Keys of optional results: present in a line only when the run produced them.
    groups = [{v for (_, m), v in keys.items() if m in ("coverage", "width", "winkler")},
              {v for (_, m), v in keys.items() if m in ("excess_rmse", "ttc_excess")}]
    optional = set().union(*groups)
    table: dict[str, dict[str, Any]] = {}  # values: numbers, None, lists, the warnings' dict
    ttcs: dict[str, dict[int, float | None]] = {}
    for r in rows:
        if r.model == "actual" and r.metric in ("drift", "drift_cf"):
            continue
        line = table.setdefault(r.model, {**{n: None for n in keys.values() if n not in optional},
                                          "ttc_steps": []})
        if r.direction is not None:
            continue
        if r.metric == "ttc" and r.period.startswith("event:"):
            ttcs.setdefault(r.model, {})[int(r.period.split(":", 1)[1])] = r.value
        elif r.period == "run" and r.metric.startswith("warn_"):
            name = r.metric.removeprefix("warn_")
            value = r.value if r.value is None or name not in ("raised", "crossings") else int(r.value)
            line.setdefault("warnings", {})[name] = value
        elif (r.period, r.metric) in keys:
            name = keys[(r.period, r.metric)]
            for group in groups:
                if name in group:
                    for n in group:
                        line.setdefault(n, None)
            line[name] = r.value
    for model, by_event in ttcs.items():
        table[model]["ttc_steps"] = [by_event[k] for k in sorted(by_event)]
    return table
