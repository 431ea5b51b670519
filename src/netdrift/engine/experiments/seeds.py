"""One scenario repeated over seeds, and what the repeats say together.

``--seeds K`` runs the spec with seeds ``seed .. seed + K - 1`` (the models' seed, and the
traffic's for synthetic traffic). :func:`aggregate_seeds` gives each headline metric's mean and
95 % interval over the runs, and each model's RMSE difference to the baseline (persistence) over
the post-failure period and the first day, with a paired moving-block bootstrap interval pooled
over the runs (:mod:`netdrift.engine.evaluation.uncertainty`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from netdrift.engine.evaluation.scoring import scenario_periods, summary_table
from netdrift.engine.evaluation.uncertainty import mean_interval, paired_block_bootstrap, step_squared_errors
from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.results import ScenarioResult

__all__ = ["seed_specs", "aggregate_seeds", "SEED_METRICS"]

#: The per-model figures given as {mean, ci} over seeds.
SEED_METRICS = ("rmse_pre", "rmse_post", "rmse_day1", "rmse_transient", "excess_rmse_post", "excess_rmse_day1",
                "mape_post", "coverage_post", "coverage_day1", "mean_width_post_mbps")


def seed_specs(spec: ScenarioSpec, seeds: int) -> list[ScenarioSpec]:
    """``spec`` with seeds ``spec.seed .. spec.seed + seeds - 1``."""
    return [replace(spec, seed=spec.seed + k) for k in range(seeds)]


def aggregate_seeds(results: Sequence[ScenarioResult], steps_per_day: int, horizon: int = 1,
                    baseline: str = "persistence", n_boot: int = 1000) -> dict[str, Any]:
    """``{models: {model: {metric: {mean, ci, n, values}}}, vs_baseline: {...}}`` over the runs."""
    tables = [summary_table(r.metrics) for r in results]
    models = list(results[0].forecasts)
    out: dict[str, Any] = {"models": {}, "baseline": baseline, "vs_baseline": {}}
    for m in models:
        line = {}
        for key in SEED_METRICS:
            values = [t.get(m, {}).get(key) for t in tables]
            if any(v is not None for v in values):
                line[key] = {**mean_interval(values), "values": values}
        out["models"][m] = line
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
            diffs[f"rmse_{period}_diff"] = paired_block_bootstrap(se_m, se_b, block, n_boot)
        out["vs_baseline"][m] = diffs
    return out
