"""One scenario repeated over seeds, and what the repeats say together.

``--seeds K`` runs the spec with seeds ``seed .. seed + K - 1`` (the models' seed, and the
traffic's for synthetic traffic). :func:`aggregate_seeds` gives every metric of every model (the
errors, interval coverage and widths, Winkler score, warning scores, time to convergence per
failure, retrains and timings) as its mean and 95 % interval over the runs, and each model's
RMSE difference to the baseline (persistence) over the post-failure period and the first day,
with a paired moving-block bootstrap interval (:mod:`netdrift.engine.evaluation.uncertainty`).

What the runs replicate is said in ``replicates``: with synthetic traffic each seed draws new
traffic too, so the runs are distinct scenarios and their resamples are pooled. With replayed
traffic a seed changes only the models: there is one traffic and one failure scenario, so the
per-step squared errors are first averaged over the seeds and the bootstrap resamples the steps
of that one scenario (never the same failure once per seed, which would narrow the interval by
about sqrt(K) for nothing); the intervals over seeds then measure the models' seed variability
only (zero for a deterministic model).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from netdrift.engine.evaluation.scoring import scenario_periods, summary_table
from netdrift.engine.evaluation.uncertainty import mean_interval, paired_block_bootstrap, step_squared_errors
from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.results import ScenarioResult

__all__ = ["seed_specs", "aggregate_seeds", "SEED_METRICS", "TIMING_METRICS", "replayed_traffic"]

#: The headline figures (every number of a model's summary line is aggregated, these and the rest).
SEED_METRICS = ("rmse_pre", "rmse_post", "rmse_day1", "rmse_transient", "excess_rmse_post", "excess_rmse_day1",
                "mape_post", "coverage_post", "coverage_day1", "mean_width_post_mbps")
#: The per-model costs aggregated beside the metrics (from the run's model statistics).
TIMING_METRICS = ("retrains", "fit_seconds", "predict_ms_per_step")


def seed_specs(spec: ScenarioSpec, seeds: int) -> list[ScenarioSpec]:
    """``spec`` with seeds ``spec.seed .. spec.seed + seeds - 1``."""
    return [replace(spec, seed=spec.seed + k) for k in range(seeds)]


def replayed_traffic(result: ScenarioResult) -> bool:
    """Whether the run replayed recorded traffic (its config's ``traffic`` is not ``synthetic``)."""
    return str(result.config.get("traffic", "synthetic")).strip().lower() != "synthetic"


def _over_runs(values: list[Any]) -> dict[str, Any]:
    return {**mean_interval(values), "values": values}


def _ttc_over_runs(lists: list[list[Any]]) -> list[dict[str, Any]]:
    """Per failure event: the converged runs' mean TTC with its interval, and how many were censored."""
    n_events = max((len(v) for v in lists), default=0)
    out = []
    for k in range(n_events):
        values = [v[k] if k < len(v) else None for v in lists]
        out.append({**mean_interval(values), "censored": sum(v is None for v in values), "values": values})
    return out


def _model_line(lines: list[dict[str, Any]], stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Every number of a model's per-run lines as {mean, ci, n, values}: scalars, the warning
    scores (a nested dict), the TTC of each failure (censored counted), and the costs."""
    line: dict[str, Any] = {}
    keys = list(dict.fromkeys(k for ln in lines for k in ln))
    for key in keys:
        values = [ln.get(key) for ln in lines]
        if key == "ttc_steps":
            line[key] = _ttc_over_runs([v or [] for v in values])
        elif any(isinstance(v, dict) for v in values):
            names = list(dict.fromkeys(n for v in values if isinstance(v, dict) for n in v))
            line[key] = {n: _over_runs([v.get(n) if isinstance(v, dict) else None for v in values]) for n in names}
        elif any(v is not None for v in values):
            line[key] = _over_runs(values)
    for key in TIMING_METRICS:
        values = [st.get(key) for st in stats]
        if any(v is not None for v in values):
            line[key] = _over_runs(values)
    return line


def _mean_over_seeds(per_seed: list[np.ndarray]) -> np.ndarray:
    """Each step's mean over the seeds' finite values (NaN where none is)."""
    x = np.stack(per_seed)
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    return np.where(n > 0, np.where(ok, x, 0.0).sum(axis=0) / np.maximum(n, 1), np.nan)


def aggregate_seeds(results: Sequence[ScenarioResult], steps_per_day: int, horizon: int = 1,
                    baseline: str = "persistence", n_boot: int = 1000) -> dict[str, Any]:
    """``{models: {model: {metric: {mean, ci, n, values}}}, vs_baseline: {...}, replicates}`` over
    the runs: every metric of the models' summary lines (:func:`summary_table`), nested ones
    (``warnings``) key by key, ``ttc_steps`` per failure event (converged runs, ``censored``
    counted), and the costs of :data:`TIMING_METRICS`."""
    tables = [summary_table(r.metrics) for r in results]
    models = list(results[0].forecasts)
    replayed = any(replayed_traffic(r) for r in results)
    out: dict[str, Any] = {
        "models": {}, "baseline": baseline, "vs_baseline": {},
        "replicates": ("models only (replayed traffic: the same traffic and failure scenario in every run)"
                       if replayed else "models and traffic (every run is a distinct scenario)"),
        "distinct_scenarios": 1 if replayed else len(results),
    }
    for m in models:
        out["models"][m] = _model_line([t.get(m, {}) for t in tables], [r.model_stats.get(m, {}) for r in results])
    if baseline not in models:
        return out
    block = max(1, steps_per_day // 12)  # two hours at 5-minute steps
    for m in models:
        if m == baseline:
            continue
        diffs = {}
        for period in ("post", "day1"):
            se_m, se_b = [], []
            for r in results:
                fails = sorted(e.step for e in r.events if e.action == "fail")
                spans = {p: (lo, hi) for p, lo, hi in
                         scenario_periods(r.actual.shape[0], r.train_steps, fails, steps_per_day, horizon)}
                if period in spans:
                    lo, hi = spans[period]
                    se_m.append(step_squared_errors(r.actual, r.forecasts[m], lo, hi))
                    se_b.append(step_squared_errors(r.actual, r.forecasts[baseline], lo, hi))
            if replayed and se_m and len({len(x) for x in se_m + se_b}) == 1:
                # one scenario: each step's error averaged over the model seeds, resampled once
                se_m, se_b = [_mean_over_seeds(se_m)], [_mean_over_seeds(se_b)]
            diffs[f"rmse_{period}_diff"] = paired_block_bootstrap(se_m, se_b, block, n_boot)
        out["vs_baseline"][m] = diffs
    return out
