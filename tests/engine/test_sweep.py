"""Failure sweeps (netdrift.engine.sweep) against an independent oracle: the Simulator run per failure."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.sweep import Failure, failure_set, load_srlgs, srlgs_from_topology_file, sweep
from netdrift.engine.sweep.core import TIE, rank_failures
from netdrift.engine.traffic.series import TrafficMatrixSeries
from netdrift.engine.traffic.sources import make_traffic

START, STOP, STEPS = 6, 30, 36


@pytest.fixture(scope="module")
def net():
    topo = load_topology("geant2001")
    return topo, make_traffic("synthetic", topo, STEPS, 15.0, 4, peak_utilization=0.8)


def _oracle(topo, traffic, f: Failure):
    kind = "node" if f.nodes else "link"
    events = [FailureEvent(START, "fail", x, kind) for x in (f.nodes or f.links)]
    loads = Simulator(topo, traffic, events).loads
    util = loads.utilization()[START:STOP]
    return util.max(axis=0), util.argmax(axis=0) + START, loads.dropped_mbps[START:STOP]


@pytest.mark.parametrize("incremental", [False, True])
def test_worst_utilization_matches_simulator_for_random_failures(net, incremental):
    topo, traffic = net
    fl = failure_set(topo, "link")
    rng = np.random.default_rng(12)
    for i in rng.choice(len(fl), 3, replace=False):
        f = fl[int(i)]
        res = sweep(topo, traffic, "link", START, STOP, failures=[f], incremental=incremental, workers=1)
        want, _, dropped = _oracle(topo, traffic, f)
        got = np.array([d["worst_utilization"] for d in res.per_direction.values()])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        row = res.failures[0]
        assert row["target"] == f.target
        assert row["worst_utilization"] == pytest.approx(want.max(), rel=1e-5)
        assert row["dropped_mbps_total"] == pytest.approx(dropped.sum(), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("incremental", [False, True])
def test_node_failure_matches_simulator(net, incremental):
    topo, traffic = net
    f = failure_set(topo, "node")[int(np.random.default_rng(5).integers(len(topo.nodes)))]
    res = sweep(topo, traffic, "node", START, STOP, failures=[f], incremental=incremental, workers=1)
    want, _, dropped = _oracle(topo, traffic, f)
    got = np.array([d["worst_utilization"] for d in res.per_direction.values()])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert res.failures[0]["dropped_mbps_total"] == pytest.approx(dropped.sum(), rel=1e-5)


def test_processes_threads_and_full_path_agree(net):
    topo, traffic = net
    a = sweep(topo, traffic, "link", START, STOP, workers=2, processes=True)
    b = sweep(topo, traffic, "link", START, STOP, workers=2, processes=False)
    c = sweep(topo, traffic, "link", START, STOP, workers=1, incremental=False)
    assert a.failures == b.failures
    for x, y in zip(a.failures, sorted(c.failures, key=lambda f: [g["target"] for g in a.failures].index(f["target"]))):
        assert x["worst_utilization"] == pytest.approx(y["worst_utilization"], rel=1e-5)


def test_full_sweep_ranking_and_per_direction_worst_case(net):
    topo, traffic = net
    res = sweep(topo, traffic, "link", START, STOP, workers=2)
    assert len(res.failures) == len(topo.links)
    assert [f["rank"] for f in res.failures] == list(range(1, len(topo.links) + 1))
    sev = np.array([f["worst_utilization"] for f in res.failures])
    assert (sev[1:] <= sev[:-1] * (1 + TIE)).all()          # highest first (equal within TIE)
    # The per-direction worst case is caused by the failure it names (checked by the simulator).
    d0 = max(res.per_direction.values(), key=lambda d: d["worst_utilization"])
    want, _, _ = _oracle(topo, traffic, Failure(d0["failure"], (d0["failure"],)))
    idx = topo.direction_index(d0["link_id"], d0["src"])
    assert d0["worst_utilization"] == pytest.approx(want[idx], rel=1e-5)
    assert d0["worst_utilization"] == pytest.approx(sev[0], rel=1e-9)
    for f in res.failures:
        for o in f["overloaded"]:
            assert o["utilization"] > 1.0 and o["excess_mbps"] > 0


def test_failures_with_the_same_figures_rank_by_name_whatever_the_rounding():
    """Two failures with one effect (the links on either side of a transit node) get worst
    utilisations that differ only in the last float digits; they rank by dropped traffic, then by
    name, as if equal, so the order is the same on any machine and on any estimate of the traffic."""
    def row(target, util, dropped=0.0):
        return {"target": target, "worst_utilization": util, "dropped_mbps_total": dropped}

    rows = [row("z", 0.7 * (1 + 3e-8)), row("a", 0.7), row("m", 0.9), row("b", None), row("k", 0.7 * (1 - 2e-7)),
            row("c", 0.5, 10.0), row("y", 0.5, 10.0 * (1 + 1e-8)), row("x", 0.5, 20.0), row("d", 0.7 * (1 - 1e-4))]
    rank_failures(rows)
    assert [r["target"] for r in rows] == ["m", "a", "k", "z", "d", "x", "c", "y", "b"]
    assert [r["rank"] for r in rows] == list(range(1, 10))


def _bridge_net():
    nodes = tuple(Node(x, x) for x in "abcd")
    links = (Link("ab", "a", "b", 100.0), Link("bc", "b", "c", 100.0), Link("ca", "c", "a", 100.0),
             Link("cd", "c", "d", 100.0))
    topo = Topology("bridge", nodes, links)
    src, dst = np.nonzero(~np.eye(4, dtype=bool))
    rng = np.random.default_rng(0)
    demands = rng.uniform(1.0, 5.0, size=(10, len(src)))
    return topo, TrafficMatrixSeries(tuple("abcd"), src, dst, demands, 5.0, datetime(2024, 1, 1))


def test_bridge_failure_reports_cut_pairs_and_dropped_traffic():
    topo, traffic = _bridge_net()
    res = sweep(topo, traffic, "link", 2, 8, workers=1)
    row = next(f for f in res.failures if f["target"] == "cd")
    assert row["cut_pairs"] == 6
    assert sorted(map(tuple, row["cut_pairs_sample"])) == sorted(
        [("a", "d"), ("b", "d"), ("c", "d"), ("d", "a"), ("d", "b"), ("d", "c")])
    cut = (traffic.src == 3) | (traffic.dst == 3)
    per_step = traffic.demands[2:8][:, cut].sum(axis=1)
    assert row["dropped_mbps_total"] == pytest.approx(per_step.sum(), rel=1e-6)
    assert row["dropped_mbps_max"] == pytest.approx(per_step.max(), rel=1e-6)
    assert row["dropped_mbit"] == pytest.approx(per_step.sum() * 300.0, rel=1e-6)
    other = next(f for f in res.failures if f["target"] == "ab")
    assert other["cut_pairs"] == 0 and other["dropped_mbps_total"] == 0.0
    node = sweep(topo, traffic, "node", 2, 8, workers=1)
    c = next(f for f in node.failures if f["target"] == "c")
    assert c["cut_pairs"] == 4            # a<->d and b<->d (ordered) lose their only path
    assert c["lost_endpoint_pairs"] == 6


def test_srlg_from_json_and_csv(tmp_path):
    topo, traffic = _bridge_net()
    js = tmp_path / "g.json"
    js.write_text(json.dumps({"srlgs": [{"id": "duct1", "links": ["ab", "bc"]}, {"id": "duct2", "links": ["cd"]}]}))
    cs = tmp_path / "g.csv"
    cs.write_text("srlg,link_id\nduct1,ab\nduct1,bc\nduct2,cd\n")
    a, b = load_srlgs(js, topo), load_srlgs(cs, topo)
    assert a == b == [Failure("duct1", ("ab", "bc")), Failure("duct2", ("cd",))]
    res = sweep(topo, traffic, "srlg", 0, 10, failures=failure_set(topo, "srlg", a), workers=1)
    assert {f["target"] for f in res.failures} == {"duct1", "duct2"}
    duct1 = next(f for f in res.failures if f["target"] == "duct1")
    assert duct1["cut_pairs"] == 6          # ab and bc down isolate b: its 6 ordered pairs are cut


def test_srlg_bad_input(tmp_path):
    topo, _ = _bridge_net()
    bad = tmp_path / "bad.csv"
    bad.write_text("srlg,link_id\nx,nope\n")
    with pytest.raises(InputError, match="unknown link id 'nope'"):
        load_srlgs(bad, topo)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"srlgs": [{"id": "g", "links": []}]}))
    with pytest.raises(InputError, match="empty"):
        load_srlgs(empty, topo)
    none = tmp_path / "none.csv"
    none.write_text("srlg,link_id\n")
    with pytest.raises(InputError, match="no shared-risk"):
        load_srlgs(none, topo)
    with pytest.raises(InputError):
        failure_set(topo, "srlg", None)
    assert srlgs_from_topology_file(tmp_path / "none.csv", topo) is None


def test_link_pairs_and_window_checks():
    topo, traffic = _bridge_net()
    assert len(failure_set(topo, "link-pairs")) == 6
    with pytest.raises(InputError, match="smaller than"):
        sweep(topo, traffic, "link", 5, 5)
    with pytest.raises(InputError, match="past the end"):
        sweep(topo, traffic, "link", 0, 11)
    with pytest.raises(InputError, match="memory budget"):
        sweep(topo, traffic, "link", 0, 10, budget_bytes=10)
