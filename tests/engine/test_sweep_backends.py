"""Sweep back ends and forecast-aware sweeps against independent paths: the batched torch loads
(forced onto the CPU) against the numpy path and the Simulator, Ray against the local executor,
and forecast demands against the Simulator routing the demands the forecast must be."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.sweep import Failure, failure_set, sweep
from netdrift.engine.sweep.batched import resolve_sweep_device
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.sources import make_traffic

START, STOP, STEPS = 6, 30, 36


@pytest.fixture(scope="module")
def net():
    topo = load_topology("geant2001")
    return topo, make_traffic("synthetic", topo, STEPS, 15.0, 4, peak_utilization=0.8)


def _simulated_worst(topo, traffic, f: Failure, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    kind = "node" if f.nodes else "link"
    events = [FailureEvent(start, "fail", x, kind) for x in (f.nodes or f.links)]
    loads = Simulator(topo, traffic, events).loads
    return loads.utilization()[start:stop].max(axis=0), loads.dropped_mbps[start:stop]


def _per_direction(res) -> np.ndarray:
    return np.array([d["worst_utilization"] for d in res.per_direction.values()], dtype=float)


def test_batched_torch_path_on_cpu_matches_numpy_path_and_simulator(net):
    topo, traffic = net
    a = sweep(topo, traffic, "link", START, STOP, workers=1)
    b = sweep(topo, traffic, "link", START, STOP, workers=1, device="cpu")
    assert b.extra["device"] == "cpu"
    assert [f["target"] for f in b.failures] == [f["target"] for f in a.failures]
    for x, y in zip(a.failures, b.failures):
        assert y["worst_utilization"] == pytest.approx(x["worst_utilization"], rel=1e-6)
        assert y["worst_step"] == x["worst_step"] and y["cut_pairs"] == x["cut_pairs"]
        assert y["dropped_mbps_total"] == pytest.approx(x["dropped_mbps_total"], rel=1e-5, abs=1e-6)
        assert len(y["overloaded"]) == len(x["overloaded"])
    np.testing.assert_allclose(_per_direction(b), _per_direction(a), rtol=1e-6)
    assert [d["failure"] for d in b.per_direction.values()] == [d["failure"] for d in a.per_direction.values()]
    # ... and a few failures (a node one, with cut pairs, among them) against the simulator.
    fl = failure_set(topo, "link")
    picks = [fl[int(i)] for i in np.random.default_rng(3).choice(len(fl), 2, replace=False)]
    picks.append(failure_set(topo, "node")[5])
    for f in picks:
        res = sweep(topo, traffic, "link", START, STOP, failures=[f], workers=1, device="cpu")
        want, dropped = _simulated_worst(topo, traffic, f, START, STOP)
        np.testing.assert_allclose(_per_direction(res), want, rtol=1e-5, atol=1e-6)
        assert res.failures[0]["dropped_mbps_total"] == pytest.approx(dropped.sum(), rel=1e-5, abs=1e-6)


def test_batched_path_handles_small_batches_and_missing_steps(net):
    topo, traffic = net
    demands = traffic.demands.copy()
    demands[10] = np.nan                                  # a missing interval inside the window
    gappy = TrafficMatrixSeries(traffic.node_ids, traffic.src, traffic.dst, demands, traffic.step_minutes,
                                traffic.start)
    fl = failure_set(topo, "link")[:7]
    a = sweep(topo, gappy, "link", START, STOP, failures=fl, workers=1)
    # Batches of 3 failures (7 = 3 + 3 + 1) give the figures of the numpy path.
    b = sweep(topo, gappy, "link", START, STOP, failures=fl, workers=1, device="cpu", device_batch=3)
    for x, y in zip(a.failures, b.failures):
        assert x["target"] == y["target"]
        assert y["worst_utilization"] == pytest.approx(x["worst_utilization"], rel=1e-6)
        assert y["worst_step"] == x["worst_step"] != 10
        assert y["dropped_mbps_total"] == pytest.approx(x["dropped_mbps_total"], rel=1e-5, abs=1e-6)


def test_cuda_device_without_gpu_is_refused():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(InputError, match="no CUDA GPU"):
        resolve_sweep_device("cuda")
    assert resolve_sweep_device("auto") is None           # auto without a GPU: the numpy path
    with pytest.raises(InputError, match="expected auto, cpu or cuda"):
        resolve_sweep_device("tpu")


@pytest.mark.slow
def test_ray_executor_gives_the_local_results(net):
    ray = pytest.importorskip("ray")
    topo, traffic = net
    local = sweep(topo, traffic, "link", START, STOP, workers=2)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = sweep(topo, traffic, "link", START, STOP, workers=2, executor="ray")
        node_ray = sweep(topo, traffic, "node", START, STOP, workers=2, executor="ray")
    finally:
        ray.shutdown()
    assert on_ray.extra["executor"] == "ray" and on_ray.extra["tasks"] > 1
    assert on_ray.failures == local.failures                 # ranked failures, every figure
    assert on_ray.per_direction == local.per_direction       # per-direction worst case and its failure
    assert node_ray.failures == sweep(topo, traffic, "node", START, STOP, workers=1).failures


def test_unknown_executor_is_refused(net):
    topo, traffic = net
    with pytest.raises(InputError, match="executor 'dask'"):
        sweep(topo, traffic, "link", START, STOP, executor="dask")


def _constant_traffic(traffic, row: np.ndarray, steps: int) -> TrafficMatrixSeries:
    return TrafficMatrixSeries(traffic.node_ids, traffic.src, traffic.dst, np.tile(row, (steps, 1)),
                               traffic.step_minutes, traffic.start)


def test_routed_persistence_forecast_worst_case_routes_the_last_demands(net):
    topo, traffic = net
    start, horizon = 20, 5
    fl = failure_set(topo, "link")
    picks = [fl[int(i)] for i in np.random.default_rng(8).choice(len(fl), 3, replace=False)]
    res = sweep(topo, traffic, "link", start, start + horizon, failures=picks, workers=1,
                forecast="routed-persistence")
    assert res.extra["forecast"]["model"] == "routed-persistence" and res.extra["forecast"]["horizon"] == horizon
    assert res.to_dict()["forecast"]["horizon"] == horizon
    last = _constant_traffic(traffic, traffic.demands[start - 1], 3)
    by_target = {f["target"]: f for f in res.failures}
    for f in picks:
        want, _ = _simulated_worst(topo, last, f, 1, 3)
        assert by_target[f.target]["worst_utilization"] == pytest.approx(want.max(), rel=1e-5)
        assert start <= by_target[f.target]["worst_step"] < start + horizon
    # The worst case per direction over the three failures, from the same independent path.
    want_dir = np.max([_simulated_worst(topo, last, f, 1, 3)[0] for f in picks], axis=0)
    np.testing.assert_allclose(_per_direction(res), want_dir, rtol=1e-5, atol=1e-6)


def test_routed_seasonal_forecast_routes_the_demands_a_day_earlier():
    topo = load_topology("abilene")
    traffic = make_traffic("synthetic", topo, 20, 240.0, 1)      # 6 steps a day
    start, horizon = 14, 4                                        # may run past the traffic's end
    f = Failure(topo.links[2].id, (topo.links[2].id,))
    res = sweep(topo, traffic, "link", start, start + horizon, failures=[f], workers=1, forecast="routed-seasonal")
    day_before = traffic.demands[start - 6:start - 6 + horizon]
    oracle = TrafficMatrixSeries(traffic.node_ids, traffic.src, traffic.dst,
                                 np.vstack([day_before[:1], day_before]), traffic.step_minutes,
                                 traffic.start + timedelta(minutes=240.0 * (start - 1)))
    want, _ = _simulated_worst(topo, oracle, f, 1, 1 + horizon)
    np.testing.assert_allclose(_per_direction(res), want, rtol=1e-5, atol=1e-6)


def test_forecast_bad_input(net):
    topo, traffic = net
    with pytest.raises(InputError, match="forecast 'bogus': unknown model"):
        sweep(topo, traffic, "link", 10, 12, forecast="bogus")
    with pytest.raises(InputError, match="forecast 'persistence'.*cannot forecast each failure state"):
        sweep(topo, traffic, "link", 10, 12, forecast="persistence")
    with pytest.raises(InputError, match="forecast 'routed-frozen': cannot be fitted"):
        sweep(topo, traffic, "link", 4, 8, forecast="routed-frozen")
    with pytest.raises(InputError, match="needs observed steps"):
        sweep(topo, traffic, "link", 0, 3, forecast="routed-persistence")


def test_batched_path_on_cuda_matches_numpy_path_when_a_gpu_is_here(net):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine")
    topo, traffic = net
    a = sweep(topo, traffic, "link", START, STOP, workers=2)
    b = sweep(topo, traffic, "link", START, STOP, workers=2, device="cuda")
    assert b.extra["device"] == "cuda"
    assert [f["target"] for f in b.failures] == [f["target"] for f in a.failures]
    np.testing.assert_allclose(_per_direction(b), _per_direction(a), rtol=1e-6)


def test_forecast_upper_bound_adds_the_h_step_change_quantile(net):
    topo, traffic = net
    start, horizon, level = 24, 3, 0.8
    f = failure_set(topo, "link")[7]
    res = sweep(topo, traffic, "link", start, start + horizon, failures=[f], workers=1,
                forecast="routed-persistence", interval=level)
    assert res.extra["forecast"]["interval"]["level"] == level
    # Oracle: the simulator's no-failure loads before --from give the radius per horizon and
    # direction (numpy quantile of the h-step change); the failure's loads of the last demands.
    hist = Simulator(topo, traffic, []).loads.loads[:start]
    radius = np.stack([np.quantile(np.abs(hist[h:] - hist[:-h]), level, axis=0) for h in range(1, horizon + 1)])
    last = _constant_traffic(traffic, traffic.demands[start - 1], 2)
    loads = Simulator(topo, last, [FailureEvent(1, "fail", f.links[0], "link")]).loads.loads[1]
    want = ((loads[None, :] + radius) / topo.direction_capacity[None, :]).max(axis=0)
    np.testing.assert_allclose(_per_direction(res), want, rtol=1e-5, atol=1e-6)
    plain = sweep(topo, traffic, "link", start, start + horizon, failures=[f], workers=1, forecast="routed-persistence")
    assert res.failures[0]["worst_utilization"] > plain.failures[0]["worst_utilization"]
    with pytest.raises(InputError, match="interval"):
        sweep(topo, traffic, "link", start, start + horizon, interval=0.9)
    with pytest.raises(InputError, match="between 0 and 1"):
        sweep(topo, traffic, "link", start, start + horizon, forecast="routed-persistence", interval=1.5)
