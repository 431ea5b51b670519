"""Drift measured against the counterfactual (the same traffic without the failure)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.evaluation.counterfactual import counterfactual_drift, drift_classes, ttc_excess
from netdrift.engine.evaluation.metrics import MetricsConfig
from netdrift.engine.experiments.scenario import run_to_end
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from tests.helpers import live_run

SETTINGS = ForecastSettings.from_flat(dict(window=6, horizon=2, epochs=2, train_windows=128, il_batch=6,
                                           il_window=24, mlp_hidden=8, liquid_units=8))


def square_with_unused_diagonal() -> tuple[Topology, TrafficMatrixSeries]:
    """a-b-c-d-a ring plus a diagonal a-c so expensive (IGP weight 100) that no path uses it."""
    nodes = tuple(Node(x, x.upper()) for x in "abcd")
    links = (Link("a-b", "a", "b", 100.0), Link("b-c", "b", "c", 100.0), Link("c-d", "c", "d", 100.0),
             Link("d-a", "d", "a", 100.0), Link("a-c", "a", "c", 100.0, weight=100.0))
    topo = Topology("square-diagonal", nodes, links)
    src, dst = np.array([(i, j) for i in range(4) for j in range(4) if i != j]).T
    t = np.arange(96)[:, None]
    rng = np.random.default_rng(3)
    demands = 6.0 + 2.0 * np.sin(2 * np.pi * t / 24 + np.arange(len(src))) + rng.uniform(0, 1, (96, len(src)))
    return topo, TrafficMatrixSeries(("a", "b", "c", "d"), src, dst, demands.astype(np.float32), 60.0,
                                     datetime(2024, 1, 1))


def scored(failure: str):
    topo, tm = square_with_unused_diagonal()
    live = live_run(topo, tm, ("persistence", "frozen", "incremental", "routed-persistence"), SETTINGS, 48,
                    seed=0, failures=(f"{failure}@60",), observe="demands")
    return run_to_end(live)


def rows(result, metric):
    return {(r.model, r.period, r.direction): r.value for r in result.metrics if r.metric == metric}


def test_failing_a_link_that_carries_nothing_is_no_drift_and_costs_no_model_anything():
    result = scored("a-c")
    drift = rows(result, "drift_cf")
    assert len(drift) == 10 and all(v == 0.0 for v in drift.values())
    for (model, period, _), value in rows(result, "excess_rmse").items():
        assert value == pytest.approx(0.0, abs=1e-9), (model, period)


def test_failing_a_used_link_drifts_its_neighbours_and_the_link_based_models_pay_for_it():
    result = scored("a-b")
    drift = {d: v for (_, _, d), v in rows(result, "drift_cf").items()}
    i = result.topology.link_index["a-b"]
    assert drift[2 * i] == 1.0 and drift[2 * i + 1] == 1.0  # the failed link: all its load gone
    assert sum(drift_classes(np.array(list(drift.values()))) != "none") >= 4
    excess = rows(result, "excess_rmse")
    # the routed model moves with the routing; persistence learns the failure a step late
    assert excess[("persistence", "day1", None)] > excess[("routed-persistence", "day1", None)]


def test_drift_and_convergence_by_hand():
    cf = np.full((10, 2), 100.0)
    with_failure = cf.copy()
    with_failure[5:, 0] = 160.0
    np.testing.assert_allclose(counterfactual_drift(with_failure, cf, 5, 4), [0.6, 0.0])
    forecast = with_failure.copy()
    forecast[5:7, 0] = 100.0  # two steps stuck at the old level, exact afterwards
    cf_forecast = cf.copy()
    ttc = ttc_excess(with_failure, forecast, cf, cf_forecast, 5, np.array([0]), MetricsConfig(convergence_window=2))
    assert ttc == 2


def test_an_event_that_reroutes_nothing_leaves_the_ensemble_and_residual_models_as_they_were():
    topo, tm = square_with_unused_diagonal()
    models = ("persistence", "frozen", "routed-persistence", "ensemble")
    live = live_run(topo, tm, models, SETTINGS, 48, seed=0, failures=("a-c@60",), observe="demands")
    result = run_to_end(live)
    for (model, period, _), value in rows(result, "excess_rmse").items():
        assert value == pytest.approx(0.0, abs=1e-9), (model, period)
