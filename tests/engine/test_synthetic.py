"""The paper's synthetic generator: determinism, shape of the waves, gravity, auto-scaling."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.synthetic import MEAN_PAIR_MBPS, synthetic_traffic

DAY = 288  # 5-minute steps per day


def line(n: int, lon: float | None = None, capacity: float = 10_000.0) -> Topology:
    nodes = tuple(Node(f"n{i}", f"N{i}", lat=None if lon is None else 45.0, lon=lon) for i in range(n))
    links = tuple(Link(f"l{i}", f"n{i}", f"n{i + 1}", capacity) for i in range(n - 1))
    return Topology(f"line{n}", nodes, links)


def autocorr(x: np.ndarray, lag: int) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.corrcoef(x[:-lag], x[lag:])[0, 1])


# --- determinism and basic contract --------------------------------------------------------
def test_same_seed_same_array_different_seed_different_array():
    t = line(5)
    a = synthetic_traffic(t, 500, seed=7)
    b = synthetic_traffic(t, 500, seed=7)
    c = synthetic_traffic(t, 500, seed=8)
    assert a.demands.dtype == np.float32
    assert np.array_equal(a.demands, b.demands)
    assert not np.allclose(a.demands, c.demands)


def test_all_ordered_pairs_of_distinct_nodes_in_row_major_order():
    t = line(4)
    tm = synthetic_traffic(t, 10, peak_utilization=None)
    expected = [(i, j) for i in range(4) for j in range(4) if i != j]
    assert list(zip(tm.src.tolist(), tm.dst.tolist())) == expected
    assert tm.node_ids == ("n0", "n1", "n2", "n3")
    assert tm.steps == 10 and tm.step_minutes == 5.0 and tm.start == datetime(2024, 1, 1)
    assert not tm.missing.any()


def test_never_negative_even_with_heavy_noise_and_shrinking_traffic():
    t = line(4)
    tm = synthetic_traffic(t, 3 * DAY, noise=1.5, growth_per_day=-0.5, peak_utilization=None, seed=3)
    assert np.isfinite(tm.demands).all()
    assert (tm.demands >= 0).all()
    # growth -50 %/day reaches zero after two days and stays there (clamped, not negative)
    assert (tm.demands[2 * DAY + 1:] == 0).all()


def test_extending_a_run_keeps_its_first_steps():
    t = line(4)
    short = synthetic_traffic(t, 100, peak_utilization=None, seed=5)
    long = synthetic_traffic(t, 1000, peak_utilization=None, seed=5)
    assert np.array_equal(short.demands, long.demands[:100])


def test_unscaled_mean_pair_demand_is_the_documented_level():
    tm = synthetic_traffic(line(6), 7 * DAY, peak_utilization=None, seed=2)
    assert tm.demands.mean() == pytest.approx(MEAN_PAIR_MBPS, rel=0.1)


# --- the waves -------------------------------------------------------------------------------
def test_daily_periodicity_is_visible():
    tm = synthetic_traffic(line(5), 14 * DAY, peak_utilization=None, seed=11)
    total = tm.demands.sum(axis=1)
    assert autocorr(total, DAY) > 0.8
    assert autocorr(total, DAY // 2) < 0.0
    per_pair_day = [autocorr(tm.demands[:, p], DAY) for p in range(tm.n_pairs)]
    per_pair_half = [autocorr(tm.demands[:, p], DAY // 2) for p in range(tm.n_pairs)]
    assert np.median(per_pair_day) > 0.7
    assert np.median(per_pair_day) > np.median(per_pair_half) + 0.5


def test_weekends_are_quieter_than_midweek():
    # 2024-01-01 is a Monday: days 5 and 6 are the weekend.
    tm = synthetic_traffic(line(5), 7 * DAY, peak_utilization=None, noise=0.0, seed=4)
    per_day = tm.demands.sum(axis=1).reshape(7, DAY).mean(axis=1)
    assert per_day[5:].max() < per_day[1:4].min()


def test_daily_peak_follows_local_time_of_the_nodes():
    def peak_hour(lon: float) -> float:
        tm = synthetic_traffic(line(4, lon=lon), 7 * DAY, peak_utilization=None, noise=0.0, seed=1)
        mean_day = tm.demands.sum(axis=1).reshape(7, DAY).mean(axis=0)
        return float(np.argmax(mean_day)) * 5 / 60  # UTC hour

    greenwich = peak_hour(0.0)
    assert 18.0 <= greenwich <= 23.0  # evening peak
    # 90 degrees east is 6 hours ahead: same local peak, 6 hours earlier in UTC
    shift = (greenwich - peak_hour(90.0)) % 24
    assert shift == pytest.approx(6.0, abs=1.0)


def test_linear_growth_multiplies_the_level():
    t = line(4)
    flat = synthetic_traffic(t, 4 * DAY, peak_utilization=None, seed=9)
    grown = synthetic_traffic(t, 4 * DAY, peak_utilization=None, seed=9, growth_per_day=0.1)
    days = np.arange(4 * DAY) * 5 / 1440
    np.testing.assert_allclose(grown.demands, flat.demands * (1 + 0.1 * days)[:, None], rtol=1e-5)


# --- gravity ------------------------------------------------------------------------------
def test_heavier_nodes_exchange_more_on_average():
    n = 13
    weights = np.ones(n)
    weights[10:] = [2.0, 4.0, 8.0]
    tm = synthetic_traffic(line(n), 2 * DAY, peak_utilization=None, node_weights=weights, seed=0)
    mean = tm.demands.mean(axis=0)
    touching = [mean[(tm.src == k) | (tm.dst == k)].mean() for k in range(n)]
    light = np.mean(touching[:10])
    assert light < touching[10] < touching[11] < touching[12]
    # at pair level, demand follows the product of the weights
    prod = weights[tm.src] * weights[tm.dst]
    assert np.corrcoef(np.log(prod), np.log(mean))[0, 1] > 0.9


def test_default_weights_make_a_gravity_model():
    # seeded lognormal weights: the pair means factor (nearly) as out_i * in_j / total
    tm = synthetic_traffic(line(12), DAY, peak_utilization=None, noise=0.0, seed=21)
    m = np.zeros((12, 12))
    m[tm.src, tm.dst] = tm.demands.mean(axis=0)
    node_total = m.sum(axis=0) + m.sum(axis=1)
    assert node_total.max() / node_total.min() > 3  # weights really differ
    est = np.outer(node_total, node_total)[tm.src, tm.dst]
    assert np.corrcoef(np.log(est), np.log(m[tm.src, tm.dst]))[0, 1] > 0.8


def test_zero_weight_node_sends_and_receives_nothing():
    tm = synthetic_traffic(line(4), 50, peak_utilization=None, node_weights=np.array([1.0, 0.0, 2.0, 3.0]))
    touching = (tm.src == 1) | (tm.dst == 1)
    assert (tm.demands[:, touching] == 0).all()
    assert (tm.demands[:, ~touching] > 0).all()


# --- auto-scaling ----------------------------------------------------------------------------
def hand_routed_triangle() -> Topology:
    nodes = (Node("a", "A"), Node("b", "B"), Node("c", "C"))
    links = (
        Link("ab", "a", "b", 1000.0, weight=1.0),
        Link("bc", "b", "c", 400.0, weight=1.0),
        Link("ac", "a", "c", 100.0, weight=5.0),  # cost 5 > 2 via b: carries nothing
    )
    return Topology("triangle", nodes, links)


def test_auto_scaling_hits_the_target_peak_utilisation():
    t = hand_routed_triangle()
    tm = synthetic_traffic(t, 2 * DAY, seed=13, peak_utilization=0.6)
    d = {(tm.node_ids[s], tm.node_ids[e]): tm.demands[:, p].astype(np.float64)
         for p, (s, e) in enumerate(zip(tm.src, tm.dst))}
    # routing by hand: a<->c goes through b
    util = np.stack([
        (d["a", "b"] + d["a", "c"]) / 1000.0,  # a->b
        (d["b", "a"] + d["c", "a"]) / 1000.0,  # b->a
        (d["b", "c"] + d["a", "c"]) / 400.0,   # b->c
        (d["c", "b"] + d["c", "a"]) / 400.0,   # c->b
    ])
    assert util.max() == pytest.approx(0.6, rel=1e-5)


def test_auto_scaling_is_a_single_rescale_of_the_raw_series():
    t = hand_routed_triangle()
    raw = synthetic_traffic(t, DAY, seed=2, peak_utilization=None).demands.astype(np.float64)
    scaled = synthetic_traffic(t, DAY, seed=2, peak_utilization=0.3).demands.astype(np.float64)
    ratio = scaled / raw
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-5)


def test_scaled_runs_are_deterministic():
    t = hand_routed_triangle()
    assert np.array_equal(synthetic_traffic(t, 300, seed=1).demands, synthetic_traffic(t, 300, seed=1).demands)


def test_same_series_whatever_the_number_of_threads(monkeypatch):
    # Blocks are generated (and routed for the auto-scaling) on as many threads as CPUs.
    import netdrift.engine.parallel

    t = line(30)  # 870 pairs: several blocks
    by_cpus = {}
    for cpus in (1, 3):
        monkeypatch.setattr(netdrift.engine.parallel.os, "cpu_count", lambda cpus=cpus: cpus)
        by_cpus[cpus] = synthetic_traffic(t, 3 * DAY, seed=5).demands
    assert np.array_equal(by_cpus[1], by_cpus[3])


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"step_minutes": 0.0}, "step_minutes"),
        ({"step_minutes": float("nan")}, "step_minutes"),
        ({"noise": -0.1}, "noise"),
        ({"growth_per_day": float("inf")}, "growth_per_day"),
        ({"peak_utilization": 0.0}, "peak_utilization"),
        ({"peak_utilization": -1.0}, "peak_utilization"),
        ({"node_weights": np.ones(3)}, "node_weights"),
        ({"node_weights": np.array([1.0, -1.0, 1.0, 1.0])}, "node_weights"),
        ({"node_weights": np.array([1.0, np.nan, 1.0, 1.0])}, "node_weights"),
        ({"node_weights": np.array([1.0, 0.0, 0.0, 0.0])}, "node_weights"),
    ],
)
def test_bad_arguments_are_input_errors(kwargs, what):
    args = {"steps": 10} | kwargs
    with pytest.raises(InputError) as err:
        synthetic_traffic(line(4), **args)
    assert err.value.what == what


def test_single_node_topology_is_refused():
    t = Topology("solo", (Node("a", "A"),), ())
    with pytest.raises(InputError, match="at least two nodes"):
        synthetic_traffic(t, 10)


def test_auto_scaling_needs_a_link_that_carries_traffic():
    t = Topology("islands", (Node("a", "A"), Node("b", "B")), ())
    with pytest.raises(InputError, match="no demand crosses any link"):
        synthetic_traffic(t, 10)
    assert synthetic_traffic(t, 10, peak_utilization=None).demands.shape == (10, 2)


def test_default_gravity_weights_follow_attached_capacity():
    # A 10G triangle with a 155 Mbit/s spur: the spur's PoP must not be as big a traffic
    # source as the core PoPs, or its thin link alone would set the scale of the network.
    from netdrift.engine.network.topology import Link, Node, Topology

    nodes = tuple(Node(x, x) for x in "abcd")
    links = (Link("a-b", "a", "b", 10_000.0), Link("b-c", "b", "c", 10_000.0),
             Link("a-c", "a", "c", 10_000.0), Link("c-d", "c", "d", 155.0))
    topo = Topology("spur", nodes, links)
    spur, core = [], []
    for seed in range(20):
        tm = synthetic_traffic(topo, 12, 60.0, seed=seed, peak_utilization=None)
        mean = np.nanmean(tm.demands, axis=0)
        from_d = tm.src == topo.node_index["d"]
        spur.append(mean[from_d].mean())
        core.append(mean[~from_d & (tm.dst != topo.node_index["d"])].mean())
    assert np.median(spur) < 0.2 * np.median(core)
