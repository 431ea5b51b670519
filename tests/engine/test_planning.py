"""Capacity planning (issue 23): upgrades computed by hand on small networks, partitions reported
and never upgraded, the growth fit against series of known growth, the module rule against
brute force."""

from __future__ import annotations

import itertools
import math
from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.planning import cheapest_modules, fit_forecast, plan
from netdrift.engine.traffic.series import TrafficMatrixSeries

HOURLY_WEEK = 7 * 24


def ring(caps: dict[str, float], lengths: dict[str, float] | None = None) -> Topology:
    """a-b-c-d-a, IGP weight 1 everywhere."""
    lengths = lengths or {}
    nodes = tuple(Node(x, x.upper()) for x in "abcd")
    links = tuple(Link(e, e[0], e[1], caps[e], 1.0, lengths.get(e)) for e in ("ab", "bc", "cd", "da"))
    return Topology("ring", nodes, links)


def flat_history(topo: Topology, demand: dict[tuple[str, str], float], steps: int = HOURLY_WEEK,
                 step_minutes: float = 60.0) -> TrafficMatrixSeries:
    """Every ordered pair, constant demands (Mbit/s), 0 where not given."""
    ids = tuple(n.id for n in topo.nodes)
    pairs = [(i, j) for i in range(len(ids)) for j in range(len(ids)) if i != j]
    row = np.array([demand.get((ids[i], ids[j]), 0.0) for i, j in pairs])
    return TrafficMatrixSeries(ids, np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]),
                               np.tile(row, (steps, 1)), step_minutes, datetime(2024, 1, 1))


def test_ring_with_one_heavy_demand_gets_the_one_upgrade_computed_by_hand():
    # a -> b 900 Mbit/s on a 1000 Mbit/s link: 0.9 > U = 0.8 without failure; failing ab sends it
    # round a-d-c-b over 10 Gbit/s links (0.09). Needed: 900 / 0.8 = 1125 Mbit/s, a shortfall of
    # 125. Modules 100 (cost 1) and 1000 (cost 5): two 100s (cost 2) beat one 1000 (cost 5).
    topo = ring({"ab": 1000.0, "bc": 10000.0, "cd": 10000.0, "da": 10000.0}, {"ab": 10.0})
    hist = flat_history(topo, {("a", "b"): 900.0})
    r = plan(topo, hist, horizon_days=7, growth=0.0, survive="link", target_utilization=0.8,
             modules=[100.0, 1000.0], cost_per_module=[1.0, 5.0], workers=1)
    (up,) = r.report["upgrades"]
    assert up["link_id"] == "ab" and up["modules"] == [{"mbps": 100, "count": 2}]
    assert up["capacity_after_mbps"] == 1200.0 and up["cost"] == 2.0
    assert up["utilization_before"] == pytest.approx(0.9) and up["utilization_after"] == pytest.approx(0.75)
    assert up["sized_for"]["failure"] == "none" and (up["sized_for"]["src"], up["sized_for"]["dst"]) == ("a", "b")
    assert up["needed_from"]["days_from_history_end"] == 0.0
    assert [lk.capacity_mbps for lk in r.upgraded.links] == [1200.0, 10000.0, 10000.0, 10000.0]
    # The per-km rule: 10 km at 0.5 a km adds 5 to each module: 2 x (1 + 5) = 12 > 1 x (5 + 5) = 10.
    r = plan(topo, hist, horizon_days=7, growth=0.0, survive="link", target_utilization=0.8,
             modules=[100.0, 1000.0], cost_per_module=[1.0, 5.0], cost_per_km=0.5, workers=1)
    (up,) = r.report["upgrades"]
    assert up["modules"] == [{"mbps": 1000, "count": 1}] and up["cost"] == 10.0


def test_growth_sets_the_size_and_the_date_an_upgrade_is_needed():
    # a -> b grows 100 % a year (x 2^(t / 365 d)) in the history and, as stated, after it: 700
    # Mbit/s at the history's end, it crosses 0.8 x 1000 when 2^(t/365) > 8/7, after
    # 365 log2(8/7) = 70.3 days; at the horizon's last hourly step (120 days - 1 h) the demand is
    # 700 x 2^((120 x 24 - 1) / (24 x 365)).
    topo = ring({"ab": 1000.0, "bc": 10000.0, "cd": 10000.0, "da": 10000.0})
    hist = flat_history(topo, {("a", "b"): 700.0})
    grown = 2.0 ** ((np.arange(hist.steps) - hist.steps) / (24 * 365))
    hist = TrafficMatrixSeries(hist.node_ids, hist.src, hist.dst, hist.demands * grown[:, None], 60.0, hist.start)
    r = plan(topo, hist, horizon_days=120, growth=1.0, survive="link", target_utilization=0.8,
             modules=[100.0], cost_per_module=[1.0], workers=1)
    (up,) = r.report["upgrades"]
    first_hour = math.floor(24 * 365 * math.log2(8 / 7)) + 1
    assert up["needed_from"]["days_from_history_end"] == pytest.approx(first_hour / 24, abs=1e-3)
    peak = 700 * 2 ** ((120 * 24 - 1) / (24 * 365))
    assert up["worst_load_mbps"] == pytest.approx(peak, rel=1e-6)
    assert up["modules"] == [{"mbps": 100, "count": math.ceil((peak / 0.8 - 1000) / 100)}]


def test_a_partition_is_reported_and_never_upgraded():
    # A triangle a-b-c with a spur c-d: failing c-d cuts d off. d -> a sends 100 Mbit/s (0.1 of
    # every link it uses): no upgrade, the cut pair and its demand are reported.
    nodes = tuple(Node(x, x) for x in "abcd")
    links = tuple(Link(e, e[0], e[1], 1000.0) for e in ("ab", "bc", "ca", "cd"))
    topo = Topology("spur", nodes, links)
    hist = flat_history(topo, {("d", "a"): 100.0})
    r = plan(topo, hist, horizon_days=7, growth=0.0, survive="link", target_utilization=0.8,
             modules=[1000.0], cost_per_module=[1.0], workers=1)
    assert r.report["upgrades"] == [] and r.upgraded.links == topo.links
    (cut,) = r.report["cut_off"]
    # every ordered pair between d and the triangle loses its path (6), only d -> a carried demand
    assert cut["failure"] == "cd" and cut["cut_pairs"] == 6 and ["d", "a"] in cut["cut_pairs_sample"]
    assert cut["dropped_mbps_max"] == pytest.approx(100.0)
    # Heavier: 900 Mbit/s overloads c-d and c-a without failure, b-c and a-b when c-a fails (those
    # are upgraded), but failing c-d still cuts d off: capacity cannot bring it back, it stays reported.
    hist = flat_history(topo, {("d", "a"): 900.0})
    r = plan(topo, hist, horizon_days=7, growth=0.0, survive="link", target_utilization=0.8,
             modules=[1000.0], cost_per_module=[1.0], workers=1)
    assert {u["link_id"] for u in r.report["upgrades"]} == {"ab", "bc", "ca", "cd"}
    assert [c["failure"] for c in r.report["cut_off"]] == ["cd"]


def known_growth_series(per_year: dict[int, float], weeks: int = 8, seed: int = 0) -> TrafficMatrixSeries:
    """Three nodes; origin o's pairs grow by ``per_year[o]`` a year (exponentially), with a daily
    wave, quiet weekends (x 0.5) and 2 % lognormal noise, hourly steps."""
    rng = np.random.default_rng(seed)
    steps = weeks * HOURLY_WEEK
    t_days = np.arange(steps) / 24.0
    src, dst = np.array([0, 0, 1, 1, 2, 2]), np.array([1, 2, 0, 2, 0, 1])
    base = np.array([100.0, 50.0, 80.0, 20.0, 60.0, 40.0])
    shape = (1 + 0.4 * np.sin(2 * np.pi * t_days)) * np.where((t_days // 1) % 7 >= 5, 0.5, 1.0)
    rate = np.array([math.log1p(per_year[o]) / 365 for o in src])
    d = base * shape[:, None] * np.exp(np.outer(t_days, rate)) * rng.lognormal(0, 0.02, (steps, 6))
    return TrafficMatrixSeries(("x", "y", "z"), src, dst, d, 60.0, datetime(2024, 1, 1))


def test_auto_growth_recovers_each_origins_known_rate_and_holds_a_decline_at_zero():
    fc = fit_forecast(known_growth_series({0: 1.0, 1: 3.0, 2: -0.5}), None, horizon_days=56)
    per = fc.growth["per_origin"]
    assert per["x"]["fitted_per_year"] == pytest.approx(1.0, abs=0.15)
    assert per["y"]["fitted_per_year"] == pytest.approx(3.0, abs=0.4)
    assert per["z"]["fitted_per_year"] == pytest.approx(-0.5, abs=0.1)
    assert per["z"]["used_per_year"] == 0.0
    assert fc.growth["profile_weeks"] == 4


def test_a_stated_rate_is_per_year_compounded_on_the_weekly_profile():
    # A noise-free history already growing 30 % a year: the weekly profile is the level at the
    # history's end, and a year later the forecast is 1.3 x that, step of week by step of week.
    N, W = 4 * HOURLY_WEEK, HOURLY_WEEK
    t = np.arange(N + 400 * 24)
    base = np.array([100.0, 50.0, 80.0, 20.0, 60.0, 40.0])
    shape = (1 + 0.4 * np.sin(2 * np.pi * t / 24)) * np.where((t // 24) % 7 >= 5, 0.5, 1.0)   # weekly period
    level = base * shape[:, None]
    grown = level[:N] * (1.3 ** ((t[:N] - N) / (24 * 365)))[:, None]
    hist = TrafficMatrixSeries(("x", "y", "z"), np.array([0, 0, 1, 1, 2, 2]), np.array([1, 2, 0, 2, 0, 1]),
                               grown, 60.0, datetime(2024, 1, 1))
    fc = fit_forecast(hist, 0.3, horizon_days=365)
    assert np.allclose(fc.profile, level[N:N + W])
    k = N + 365 * 24
    assert np.allclose(fc.demands(k, k + 1)[0], 1.3 * level[k])
    assert fc.growth["factor_at_horizon"] == pytest.approx(1.3)


def test_the_upper_bound_widens_each_pair_by_its_residual_quantile():
    hist = known_growth_series({0: 0.0, 1: 0.0, 2: 0.0}, weeks=4, seed=3)
    fc = fit_forecast(hist, 0.0, horizon_days=7, interval=0.9)
    x = np.asarray(hist.demands).reshape(4, HOURLY_WEEK, 6)
    rel = (x / x.mean(axis=0) - 1).reshape(-1, 6)
    assert np.allclose(fc.upper, np.quantile(rel, 0.9, axis=0) * math.sqrt(5 / 3))
    assert (fc.base(True) > fc.profile).all()


@pytest.mark.parametrize("kwargs, needle", [
    ({"horizon_days": 3}, "at least 7 days"),
    ({"horizon_days": 30, "growth": None}, "14 days of history"),
    ({"horizon_days": 7, "interval": 0.9}, "two whole weeks"),
    ({"horizon_days": 7, "target_utilization": 1.5}, "(0, 1]"),
    ({"horizon_days": 7, "survive": "ducts"}, "expected one of none, link"),
    ({"horizon_days": 7, "modules": []}, "no module sizes"),
])
def test_bad_plans_are_refused_in_one_line(kwargs, needle):
    topo = ring({"ab": 1000.0, "bc": 1000.0, "cd": 1000.0, "da": 1000.0})
    args = {"growth": 0.1, "survive": "link", "target_utilization": 0.8, "modules": [100.0],
            "cost_per_module": [1.0], **kwargs}
    if not args["modules"]:
        args["cost_per_module"] = []
    with pytest.raises(InputError, match=None) as err:
        plan(topo, flat_history(topo, {("a", "b"): 10.0}), workers=1, **args)
    assert needle in str(err.value)


def test_auto_horizon_is_limited_by_the_history():
    fc_hist = known_growth_series({0: 0.1, 1: 0.1, 2: 0.1}, weeks=3)
    with pytest.raises(InputError, match="beyond what 21 days of history support"):
        fit_forecast(fc_hist, None, horizon_days=22)
    assert fit_forecast(fc_hist, None, horizon_days=21).week_steps == HOURLY_WEEK


def test_cheapest_modules_matches_brute_force():
    rng = np.random.default_rng(5)
    for _ in range(200):
        sizes = list(rng.choice([1000.0, 2500.0, 10000.0, 40000.0], size=int(rng.integers(1, 4)), replace=False))
        costs = list(rng.choice([1.0, 2.0, 3.5, 7.0], size=len(sizes)))
        short = float(rng.uniform(1, 60000))
        got = cheapest_modules(short, sizes, costs)
        best = min(sum(n * c for n, c in zip(ns, costs))
                   for ns in itertools.product(*[range(math.ceil(short / s) + 1) for s in sizes])
                   if sum(n * s for n, s in zip(ns, sizes)) >= short)
        assert got.cost == pytest.approx(best) and got.added >= short
