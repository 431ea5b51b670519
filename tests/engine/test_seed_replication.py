"""`run --seeds`: every metric aggregated; with replayed traffic, seeds are not new failures."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.evaluation.uncertainty import paired_block_bootstrap, step_squared_errors
from netdrift.engine.experiments.scenario import run_scenario
from netdrift.engine.experiments.seeds import aggregate_seeds, seed_specs
from netdrift.engine.experiments.spec import ScenarioSpec
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.traffic.backbone import backbone_traffic

MODELS = ("persistence", "seasonal", "online-ar")


@pytest.fixture(scope="module")
def replay_csv(tmp_path_factory):
    """Two days of hourly backbone-proxy traffic on Abilene, written as a long CSV (gaps left out)."""
    topo = load_topology("abilene")
    tm = backbone_traffic(topo, 120, 60.0, seed=3, start=datetime(2024, 3, 4))
    path = tmp_path_factory.mktemp("replay") / "abilene.csv"
    ids = tm.node_ids
    lines = ["time,src,dst,mbps"]
    for t in range(tm.steps):
        if tm.missing[t]:
            continue
        when = tm.time_of(t).strftime("%Y-%m-%dT%H:%M")
        lines += [f"{when},{ids[s]},{ids[d]},{v:.4f}" for s, d, v in zip(tm.src, tm.dst, tm.demands[t])]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def spec_for(traffic: str, **kw) -> ScenarioSpec:
    return ScenarioSpec(topology="abilene", traffic=traffic, steps=120, train_steps=72, step_minutes=60.0,
                        models=MODELS, failures=("0-1@80",), **kw)


@pytest.fixture(scope="module")
def replay_results(replay_csv):
    return [run_scenario(s) for s in seed_specs(spec_for(replay_csv), 3)]


def test_replayed_seeds_are_one_scenario_and_do_not_narrow_the_interval(replay_results):
    one = aggregate_seeds(replay_results[:1], steps_per_day=24)
    three = aggregate_seeds(replay_results, steps_per_day=24)
    assert three["distinct_scenarios"] == 1 and three["replicates"].startswith("models only")
    # These models are deterministic: the three runs are copies of one failure scenario, so
    # they must say exactly what one run says (pooling them would narrow it by about sqrt(3)).
    for m in ("seasonal", "online-ar"):
        for period in ("rmse_post_diff", "rmse_day1_diff"):
            got, single = three["vs_baseline"][m][period], one["vs_baseline"][m][period]
            assert got["estimate"] == pytest.approx(single["estimate"])
            assert got["ci"] == pytest.approx(single["ci"])
            assert got["within_noise"] == single["within_noise"]
    # ... and counting the copies as three scenarios would have narrowed it (what this prevents)
    r = replay_results[0]
    se = {name: step_squared_errors(r.actual, r.forecasts[name], 80, 120) for name in ("online-ar", "persistence")}
    pooled = paired_block_bootstrap([se["online-ar"]] * 3, [se["persistence"]] * 3, block=2)
    alone = paired_block_bootstrap([se["online-ar"]], [se["persistence"]], block=2)
    assert pooled["ci"][1] - pooled["ci"][0] < 0.8 * (alone["ci"][1] - alone["ci"][0])


def test_every_metric_is_aggregated_over_the_seeds(replay_results):
    from netdrift.engine.evaluation.scoring import summary_table

    out = aggregate_seeds(replay_results, steps_per_day=24)
    for m in MODELS:
        per_run = [summary_table(r.metrics)[m] for r in replay_results]
        line = out["models"][m]
        for key in ("rmse_pre", "rmse_post", "rmse_day1", "mape_post", "mae_post", "smape_post", "coverage_pre",
                    "coverage_post", "coverage_day1", "coverage_day1_informed", "mean_width_pre_mbps", "mean_width_post_mbps",
                    "mean_width_day1_mbps", "winkler_post", "excess_rmse_post", "excess_rmse_day1"):
            values = [run[key] for run in per_run]
            assert line[key]["values"] == values, key
            assert line[key]["mean"] == pytest.approx(float(np.mean(values))), key
        for name, value in per_run[0]["warnings"].items():
            got = line["warnings"][name]
            if value is not None:
                assert got["mean"] == pytest.approx(np.mean([run["warnings"][name] for run in per_run])), name
        ttc = line["ttc_steps"]
        assert len(ttc) == 1 and ttc[0]["censored"] == sum(run["ttc_steps"][0] is None for run in per_run)
        for key in ("retrains", "fit_seconds", "predict_ms_per_step"):
            values = [r.model_stats[m][key] for r in replay_results]
            assert line[key]["mean"] == pytest.approx(float(np.mean(values))), key


def test_synthetic_seeds_are_distinct_scenarios():
    results = [run_scenario(s) for s in seed_specs(spec_for("synthetic", traffic_model="backbone"), 2)]
    out = aggregate_seeds(results, steps_per_day=24)
    assert out["distinct_scenarios"] == 2 and out["replicates"].startswith("models and traffic")
    assert not np.array_equal(results[0].actual, results[1].actual, equal_nan=True)
