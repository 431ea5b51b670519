"""Routed (failure-aware) models: demands forecast, routed through the network as it is now."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.forecasting.catalogue import ROUTED_MODELS
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.network.routing import routing_matrix
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from tests.helpers import live_run

STEPS, TRAIN = 72, 48
SETTINGS = ForecastSettings.from_flat(dict(window=6, horizon=1, epochs=2, train_windows=128, il_batch=6,
                                           il_window=24, mlp_hidden=8, liquid_units=8))


def ring_with_spur() -> Topology:
    """a-b-c-d-a ring plus e hanging off a: failing a-e cuts e off (a partition)."""
    nodes = tuple(Node(x, x.upper()) for x in "abcde")
    links = (Link("a-b", "a", "b", 100.0), Link("b-c", "b", "c", 100.0), Link("c-d", "c", "d", 100.0),
             Link("d-a", "d", "a", 100.0), Link("a-e", "a", "e", 100.0))
    return Topology("ring-spur", nodes, links)


def traffic(topo: Topology) -> TrafficMatrixSeries:
    n = len(topo.nodes)
    src, dst = np.array([(i, j) for i in range(n) for j in range(n) if i != j]).T
    t = np.arange(STEPS)[:, None]
    rng = np.random.default_rng(5)
    demands = 3.0 + 1.5 * np.sin(2 * np.pi * t / 24 + np.arange(len(src))[None, :]) + rng.uniform(0, 0.5, (STEPS, len(src)))
    return TrafficMatrixSeries(tuple(x.id for x in topo.nodes), src, dst, demands.astype(np.float32), 60.0,
                               datetime(2024, 1, 1))


def run(models, events, observe="demands") -> LiveScenario:
    topo = ring_with_spur()
    live = live_run(topo, traffic(topo), models, SETTINGS, TRAIN, seed=1, failures=events, observe=observe)
    live.train()
    live.advance(STEPS - TRAIN)
    return live


def mask(topo: Topology, down: set[str]) -> np.ndarray:
    return np.array([link.id not in down for link in topo.links])


def test_routed_persistence_is_the_last_demand_matrix_rerouted_through_failure_restore_and_partition():
    events = ("a-b@52:58", "a-e@63")
    live = run(("routed-persistence", "persistence"), events)
    topo, tm = live.topology, live.traffic
    down_at = {s: ({"a-b"} if 52 <= s < 58 else set()) | ({"a-e"} if s >= 63 else set()) for s in range(STEPS)}
    forecast = live.forecasts["routed-persistence"]
    for t in range(TRAIN, STEPS):
        # the routing of the state at t (known when forecasting t) times the demands of t-1,
        # computed here from the per-pair routing matrix, not by the simulator's load plan
        r = routing_matrix(topo, link_up=mask(topo, down_at[t]), src=tm.src, dst=tm.dst)
        expected = r.matrix @ tm.demands[t - 1].astype(np.float64)
        np.testing.assert_allclose(forecast[t], expected, rtol=1e-5, atol=1e-4, err_msg=f"step {t}")
    # at the failure step every model knows the failed link carries nothing, but on the re-routed
    # directions the link-level persistence still says the old loads; the routed one moved
    a_b = [2 * topo.link_index["a-b"], 2 * topo.link_index["a-b"] + 1]
    actual = live.simulator.loads.loads
    assert (live.forecasts["persistence"][52, a_b] == 0).all() and (forecast[52, a_b] == 0).all()
    moved = np.abs(forecast[52] - actual[51]) > 1.0
    moved[a_b] = False
    assert moved.any()
    np.testing.assert_allclose(live.forecasts["persistence"][52, moved], actual[51, moved], rtol=1e-5)


def test_cut_off_pairs_forecast_as_dropped_not_as_load_elsewhere():
    live = run(("routed-persistence",), ("a-e@60",))
    tm = live.traffic
    e = live.topology.node_index["e"]
    reachable = (tm.src != e) & (tm.dst != e)
    # every forecast direction's load after the partition comes from the pairs that still have a path
    r = routing_matrix(live.topology, link_up=mask(live.topology, {"a-e"}), src=tm.src, dst=tm.dst)
    assert r.unreachable.sum() == (~reachable).sum()
    total = live.forecasts["routed-persistence"][61].sum()
    only_reachable = (r.matrix @ np.where(reachable, tm.demands[60], 0.0)).sum()
    assert total == pytest.approx(only_reachable, rel=1e-5)


@pytest.mark.parametrize("observe", ["demands", "links"])
def test_routed_forecasts_never_put_load_on_a_failed_link(observe):
    pytest.importorskip("netdrift.engine.traffic.tomogravity") if observe == "links" else None
    live = run(ROUTED_MODELS, ("b-c@55",), observe)
    i = live.topology.link_index["b-c"]
    for name in ROUTED_MODELS:
        f = live.forecasts[name]
        assert np.isfinite(f[TRAIN:]).all(), name
        assert (f[55:, [2 * i, 2 * i + 1]] == 0).all(), name
        assert (f[TRAIN:55, [2 * i, 2 * i + 1]] > 0).any(), name


def test_routed_learnt_models_use_their_kind_and_settings():
    live = run(("routed-incremental", "routed-liquid"), [])
    stats = live.model_stats()
    # re-fit every B = 6 observed steps on origin totals, like the link-level incremental model
    assert stats["routed-incremental"]["retrains"] == (STEPS - TRAIN) // 6
    assert stats["routed-liquid"]["retrains"] == 0


def test_a_routed_model_without_demands_is_refused():
    from netdrift.engine.forecasting.catalogue import make_forecaster

    m = make_forecaster("routed-persistence", SETTINGS)
    with pytest.raises(InputError, match="needs the demands"):
        m.fit(np.zeros((10, 4), np.float32), np.zeros((10, 4), np.float32))


def test_unknown_observe_and_memory_budget_are_one_clear_line(monkeypatch):
    topo = ring_with_spur()
    with pytest.raises(InputError, match="observe 'flows': unknown; valid: links, demands"):
        live_run(topo, traffic(topo), ("routed-persistence",), SETTINGS, TRAIN, observe="flows")
    monkeypatch.setenv("NETDRIFT_MAX_MEMORY", "1K")
    with pytest.raises(InputError, match="routed models on 'ring-spur' .* over the memory budget"):
        live_run(topo, traffic(topo), ("routed-persistence",), SETTINGS, TRAIN)
    live_run(topo, traffic(topo), ("persistence",), SETTINGS, TRAIN)  # link-level: no demand rows
