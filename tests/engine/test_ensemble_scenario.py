"""The ensemble inside a scenario: combined after its members, failure-aware, with an interval (issue 19)."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from netdrift.engine.forecasting.ensemble import FAVOUR
from netdrift.engine.forecasting.hedge import rerouted_directions
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from tests.helpers import live_run


def square() -> tuple[Topology, TrafficMatrixSeries]:
    nodes = tuple(Node(x, x.upper()) for x in "abcd")
    links = (Link("a-b", "a", "b", 100.0), Link("b-c", "b", "c", 100.0),
             Link("c-d", "c", "d", 100.0), Link("d-a", "d", "a", 100.0))
    src, dst = np.array([(i, j) for i in range(4) for j in range(4) if i != j]).T
    t = np.arange(130)[:, None]
    rng = np.random.default_rng(4)
    demands = 8.0 + 3.0 * np.sin(2 * np.pi * t / 24 + np.arange(len(src))) + rng.normal(0, 0.3, (130, len(src)))
    return (Topology("square", nodes, links),
            TrafficMatrixSeries(("a", "b", "c", "d"), src, dst, demands.astype(np.float32), 60.0, datetime(2024, 1, 1)))


def test_at_a_failure_the_ensemble_restarts_with_the_routed_member_favoured():
    topo, tm = square()
    settings = ForecastSettings.from_flat(dict(window=6, horizon=1))
    live = live_run(topo, tm, ("persistence", "routed-persistence", "ensemble"), settings, 72, seed=0,
                    failures=("a-b@100",), observe="demands", interval=0.9)
    live.train()
    live.advance(100 - live.step)
    # A look ahead combines the members' forecasts and changes nothing.
    bands = live.next_bands()
    assert bands["ensemble"].upper is not None
    rerouted = rerouted_directions(live.stream.input_at(100))
    assert rerouted.any()
    record = next(live.records(1))
    f = {m: record.forecasts[m].point[0] for m in ("persistence", "routed-persistence", "ensemble")}
    # At the failure step the rerouted directions' weights are the prior: routed FAVOUR : link 1.
    expected = (FAVOUR * f["routed-persistence"] + f["persistence"]) / (FAVOUR + 1.0)
    np.testing.assert_allclose(f["ensemble"][rerouted], expected[rerouted], rtol=1e-5)
    # Elsewhere it stays within the members' range (a convex combination).
    lo, hi = np.minimum(f["persistence"], f["routed-persistence"]), np.maximum(f["persistence"], f["routed-persistence"])
    assert ((f["ensemble"] >= lo - 1e-3) & (f["ensemble"] <= hi + 1e-3)).all()
    live.advance(live.total_steps - live.step)
    result = live.result()
    lines = {r.metric: r.value for r in result.metrics if r.model == "ensemble" and r.direction is None
             and r.period == "post"}
    assert np.isfinite(lines["rmse"]) and np.isfinite(lines["coverage"])
    assert live.model_stats()["ensemble"]["retrains"] == 0


def test_a_run_stored_before_residual_learning_resumes_in_the_paper_form():
    from netdrift.engine.experiments.spec import ScenarioSpec, spec_from_dict

    stored = ScenarioSpec(topology="abilene").to_dict()
    stored["forecast"] = {k: v for k, v in ForecastSettings().to_flat().items() if k != "residual"}
    assert spec_from_dict(stored).forecast.common.residual is False
    stored["forecast"]["residual"] = True
    assert spec_from_dict(stored).forecast.common.residual is True


def test_every_forecast_of_a_link_known_down_is_zero_from_the_failure_step():
    topo, tm = square()
    settings = ForecastSettings.from_flat(dict(window=6, horizon=3))
    models = ("persistence", "seasonal", "online-ar", "routed-persistence", "ensemble")
    live = live_run(topo, tm, models, settings, 72, seed=0, failures=("a-b@100:110",), observe="links", interval=0.9)
    live.train()
    live.advance(99 - live.step)
    down = np.repeat([link.id == "a-b" for link in topo.links], 2)
    before = next(live.records(1))  # step 99: the failure is not known yet
    assert all(before.forecasts[m].point[:, down].max() > 1.0 for m in models)
    for step in range(100, 110):  # the failure is known from its step to the restore
        bands = live.next_bands()
        record = next(live.records(1))
        assert record.step == step
        for m in models:
            for fc in (bands[m], record.forecasts[m]):
                assert not fc.point[:, down].any() and not fc.upper[:, down].any() and not fc.lower[:, down].any(), m
    restored = next(live.records(1))  # the routed model knows the restore at once
    assert restored.step == 110 and restored.forecasts["routed-persistence"].point[:, down].min() > 1.0
