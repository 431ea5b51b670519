"""Failure simulation: re-routing, dropped demand, incremental recomputation, outputs."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.routing import all_pairs, routing_matrix
from netdrift.engine.network.simulation import FRAME_COLUMNS, LinkLoads, Simulator, simulate
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries

START = datetime(2024, 1, 1)


def make_topology() -> Topology:
    """Two triangles {a, b, c} and {d, e, f} joined by the bridge c-d; unit weights."""
    ids = "abcdef"
    links = [("a-b", "a", "b"), ("b-c", "b", "c"), ("a-c", "a", "c"),
             ("d-e", "d", "e"), ("e-f", "e", "f"), ("d-f", "d", "f"), ("c-d", "c", "d")]
    return Topology("bridge", tuple(Node(i, i.upper()) for i in ids),
                    tuple(Link(l, u, v, 100.0) for l, u, v in links))


def make_traffic(topology: Topology, steps: int = 12, seed: int = 0) -> TrafficMatrixSeries:
    src, dst = all_pairs(len(topology.nodes))
    rng = np.random.default_rng(seed)
    demands = rng.uniform(1.0, 5.0, (steps, len(src))).astype(np.float32)
    return TrafficMatrixSeries(tuple(n.id for n in topology.nodes), src, dst, demands, 5.0, START)


def expected_loads(topology, traffic, down_links=(), down_nodes=()):
    """Loads via the per-pair routing matrix in float64 (a different path from the simulator)."""
    node_up = np.array([n.id not in down_nodes for n in topology.nodes])
    r = routing_matrix(topology, topology.link_up_mask(down_links, down_nodes), node_up,
                       traffic.src, traffic.dst)
    d = traffic.demands.astype(np.float64)
    return d @ r.matrix.T.toarray(), d[:, r.unreachable].sum(axis=1)


@pytest.fixture
def topo():
    return make_topology()


@pytest.fixture
def tm(topo):
    return make_traffic(topo)


def test_no_failure_matches_routing_matrix(topo, tm):
    ll = simulate(topo, tm)
    loads, dropped = expected_loads(topo, tm)
    np.testing.assert_allclose(ll.loads, loads, rtol=1e-6)
    assert (ll.dropped_mbps == 0).all()
    assert ll.link_up.all() and ll.link_up.shape == (12, 7)


def test_fail_then_restore_gives_back_the_original_loads_exactly(topo, tm):
    base = simulate(topo, tm)
    events = [FailureEvent(3, "fail", "a-b", "link"), FailureEvent(7, "restore", "a-b", "link")]
    ll = simulate(topo, tm, events)
    assert np.array_equal(ll.loads[:3], base.loads[:3])
    assert np.array_equal(ll.loads[7:], base.loads[7:])
    assert not np.array_equal(ll.loads[3:7], base.loads[3:7])
    # a -> b now goes a -> c -> b
    a_b = int(np.flatnonzero((tm.src == 0) & (tm.dst == 1))[0])
    ab, bc_rev, ac = topo.direction_index("a-b", "a"), topo.direction_index("b-c", "c"), topo.direction_index("a-c", "a")
    assert (ll.loads[3:7, ab] == 0).all()
    loads, _ = expected_loads(topo, tm, down_links={"a-b"})
    np.testing.assert_allclose(ll.loads[3:7], loads[3:7], rtol=1e-6)
    assert (ll.loads[3:7, ac] >= tm.demands[3:7, a_b] * (1 - 1e-6)).all()
    assert (ll.loads[3:7, bc_rev] >= tm.demands[3:7, a_b] * (1 - 1e-6)).all()
    # and through the incremental API
    sim = Simulator(topo, tm)
    ev = FailureEvent(3, "fail", "a-b", "link")
    sim.add_event(ev)
    sim.remove_event(ev)
    assert np.array_equal(sim.loads.loads, base.loads)


def test_partition_drops_exactly_the_demand_across_the_cut(topo, tm):
    ll = simulate(topo, tm, [FailureEvent(4, "fail", "c-d", "link")])
    left = np.isin(tm.src, [0, 1, 2])
    cross = left != np.isin(tm.dst, [0, 1, 2])
    expected = tm.demands.astype(np.float64)[:, cross].sum(axis=1)
    assert (ll.dropped_mbps[:4] == 0).all()
    np.testing.assert_allclose(ll.dropped_mbps[4:], expected[4:], rtol=1e-6)
    np.testing.assert_allclose(ll.dropped_by_pair(6), np.where(cross, tm.demands[6], 0.0))
    assert (ll.dropped_by_pair(2) == 0).all()
    assert not ll.link_up[4:, topo.link_index["c-d"]].any() and ll.link_up[:4].all()
    # what is not dropped is still carried: same-side loads follow the cut graph's routing
    loads, dropped = expected_loads(topo, tm, down_links={"c-d"})
    np.testing.assert_allclose(ll.loads[4:], loads[4:], rtol=1e-6)
    assert ll.summary()["dropped_mbps_total"] == pytest.approx(expected[4:].sum(), rel=1e-6)


def test_node_failure_drops_demand_to_and_from_it(topo, tm):
    ll = simulate(topo, tm, [FailureEvent(2, "fail", "b", "node")])
    touches = (tm.src == 1) | (tm.dst == 1)
    np.testing.assert_allclose(ll.dropped_mbps[2:], tm.demands.astype(np.float64)[2:, touches].sum(axis=1), rtol=1e-6)
    for lid in ("a-b", "b-c"):
        i = topo.link_index[lid]
        assert not ll.link_up[2:, i].any()
        assert (ll.loads[2:, 2 * i:2 * i + 2] == 0).all()
    loads, _ = expected_loads(topo, tm, down_nodes={"b"})
    np.testing.assert_allclose(ll.loads[2:], loads[2:], rtol=1e-6)


def test_overlapping_failures(topo, tm):
    # c-d fails at 2, node d fails at 4, c-d is restored at 6 but d is still down until 9.
    events = [FailureEvent(2, "fail", "c-d", "link"), FailureEvent(4, "fail", "d", "node"),
              FailureEvent(6, "restore", "c-d", "link"), FailureEvent(9, "restore", "d", "node")]
    ll = simulate(topo, tm, events)
    cd = topo.link_index["c-d"]
    assert ll.link_up[:, cd].tolist() == [True] * 2 + [False] * 7 + [True] * 3
    for (a, b), (links, nodes) in {(0, 2): ((), ()), (2, 4): ({"c-d"}, ()), (4, 6): ({"c-d"}, {"d"}),
                                   (6, 9): ((), {"d"}), (9, 12): ((), ())}.items():
        loads, dropped = expected_loads(topo, tm, links, nodes)
        np.testing.assert_allclose(ll.loads[a:b], loads[a:b], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(ll.dropped_mbps[a:b], dropped[a:b], rtol=1e-6, atol=1e-9)
    # the same failure twice needs two restores
    twice = [FailureEvent(1, "fail", "a-c", "link"), FailureEvent(3, "fail", "a-c", "link"),
             FailureEvent(5, "restore", "a-c", "link")]
    sim = Simulator(topo, tm, twice)
    assert sim.state_at(6) == (frozenset({"a-c"}), frozenset())
    assert not sim.loads.link_up[6:, topo.link_index["a-c"]].any()


def test_only_steps_from_the_event_on_are_recomputed(topo, tm):
    sim = Simulator(topo, tm)
    assert sim.steps_computed == 12
    before = sim.loads
    ev = FailureEvent(5, "fail", "a-b", "link")
    sim.add_event(ev)
    assert sim.last_recomputed == [(5, 12)] and sim.steps_computed == 12 + 7
    after = sim.loads
    assert np.array_equal(after.loads[:5], before.loads[:5])
    assert not np.array_equal(after.loads[5:], before.loads[5:])
    # the earlier snapshot is not modified by later events
    assert np.array_equal(before.loads, simulate(topo, tm).loads)
    # a restore at 9 only touches 9..11; a failure in the past of nothing changes nothing else
    sim.add_event(FailureEvent(9, "restore", "a-b", "link"))
    assert sim.last_recomputed == [(9, 12)] and sim.steps_computed == 19 + 3
    # removing the failure recomputes only 5..8 (9.. is already the no-failure state)
    sim.remove_event(ev)
    assert sim.last_recomputed == [(5, 9)]
    # restore without failure is a no-op for loads
    assert np.array_equal(sim.loads.loads, before.loads)


def test_unknown_ids_and_bad_events_are_input_errors(topo, tm):
    sim = Simulator(topo, tm)
    with pytest.raises(InputError, match="'x-y'"):
        sim.add_event(FailureEvent(1, "fail", "x-y", "link"))
    with pytest.raises(InputError, match="outside the run"):
        sim.add_event(FailureEvent(12, "fail", "a-b", "link"))
    with pytest.raises(InputError, match="not in this simulation"):
        sim.remove_event(FailureEvent(1, "fail", "a-b", "link"))
    with pytest.raises(InputError, match="'zz'"):
        simulate(topo, tm, [FailureEvent(1, "fail", "zz", "node")])
    other = TrafficMatrixSeries(("a", "b"), np.array([0]), np.array([1]), np.ones((2, 1)), 5.0, START)
    with pytest.raises(InputError, match="traffic"):
        Simulator(topo, other)


def test_missing_steps_are_nan_not_zero(topo):
    tm = make_traffic(topo, steps=4)
    d = tm.demands.copy()
    d[1] = np.nan
    d[2, 0] = np.nan  # an isolated missing value counts as 0
    tm = TrafficMatrixSeries(tm.node_ids, tm.src, tm.dst, d, 5.0, START)
    ll = simulate(topo, tm, [FailureEvent(0, "fail", "c-d", "link")])
    assert np.isnan(ll.loads[1]).all() and np.isnan(ll.dropped_mbps[1])
    assert np.isfinite(ll.loads[[0, 2, 3]]).all() and np.isfinite(ll.dropped_mbps[[0, 2, 3]]).all()
    d2 = np.nan_to_num(d[2].astype(np.float64))
    cross = np.isin(tm.src, [0, 1, 2]) != np.isin(tm.dst, [0, 1, 2])
    assert ll.dropped_mbps[2] == pytest.approx(d2[cross].sum(), rel=1e-6)
    s = ll.summary()
    assert s["missing_steps"] == 1 and np.isfinite(s["dropped_mbps_total"])


def test_frame_summary_and_progress(topo, tm):
    ev = [FailureEvent(3, "fail", "a-c", "link"), FailureEvent(8, "fail", "c-d", "link")]
    calls = []
    sim = Simulator(topo, tm, ev, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (12, 12)
    ll = sim.loads
    assert isinstance(ll, LinkLoads)
    df = ll.to_frame(tm)
    assert tuple(df.columns) == FRAME_COLUMNS == ("step", "time", "link_id", "src", "dst", "load_mbps",
                                                  "capacity_mbps", "up")
    assert len(df) == 12 * 14
    row = df[(df.step == 4) & (df.link_id == "a-c") & (df.src == "c")].iloc[0]
    assert row.dst == "a" and not row.up and row.load_mbps == 0 and row.capacity_mbps == 100.0
    assert df.time.iloc[-1] == np.datetime64("2024-01-01T00:55")
    np.testing.assert_allclose(df.load_mbps.to_numpy().reshape(12, 14), ll.loads)

    # The summary against figures worked out here: loads of each failure state from the
    # per-pair routing matrix (float64), utilisation = load / 100 Mbit/s, plain numpy.
    states = [((), 0, 3), (("a-c",), 3, 8), (("a-c", "c-d"), 8, 12)]
    util, dropped = np.zeros((12, 14)), np.zeros(12)
    for down, a, b in states:
        loads, lost = expected_loads(topo, tm, down_links=down)
        util[a:b], dropped[a:b] = loads[a:b] / 100.0, lost[a:b]
    d = tm.demands.astype(np.float64)
    left = np.isin(tm.src, [0, 1, 2])
    cross = left != np.isin(tm.dst, [0, 1, 2])
    np.testing.assert_allclose(dropped, np.r_[np.zeros(8), d[8:, cross].sum(axis=1)], rtol=1e-12)
    # direction 2i is link i's u -> v, 2i + 1 its v -> u
    names = [n for link in topo.links for n in ((link.id, link.u, link.v), (link.id, link.v, link.u))]
    top_step, top_dir = np.unravel_index(np.argmax(util), util.shape)

    s = ll.summary(ev)
    assert {k: s[k] for k in ("steps", "links", "directions", "nodes", "missing_steps", "dropped_steps")} == {
        "steps": 12, "links": 7, "directions": 14, "nodes": 6, "missing_steps": 0, "dropped_steps": 4}
    assert s["dropped_mbps_total"] == pytest.approx(d[8:, cross].sum(), rel=1e-6)
    assert s["max_utilization"] == pytest.approx(util.max(), rel=1e-6)
    link_id, src, dst = names[top_dir]
    assert s["max_utilization_at"] == {"step": top_step, "link_id": link_id, "src": src, "dst": dst}

    e1, e2 = s["events"]
    assert {k: e1[k] for k in ("step", "action", "target", "kind")} == {"step": 3, "action": "fail",
                                                                        "target": "a-c", "kind": "link"}
    assert e1["dropped_mbps"] == 0.0
    assert e1["max_utilization_after"] == pytest.approx(util[3:8].max(), rel=1e-6)
    # At step 3 a's traffic to c..f (x) moves from a->c onto a->b->c, and the traffic from
    # c..f to a (y) from c->a onto c->b->a: the three biggest changes are the larger flow's.
    x = d[3, (tm.src == 0) & (tm.dst >= 2)].sum()
    y = d[3, (tm.dst == 0) & (tm.src >= 2)].sum()
    assert abs(x - y) > 0.1, "the test's demands must make the top three unambiguous"
    if x > y:
        want = {("a-c", "a", "c"): -x, ("a-b", "a", "b"): x, ("b-c", "b", "c"): x}
    else:
        want = {("a-c", "c", "a"): -y, ("b-c", "c", "b"): y, ("a-b", "b", "a"): y}
    got = {(c["link_id"], c["src"], c["dst"]): c["delta_mbps"] for c in e1["top_changes"]}
    assert got == pytest.approx(want, rel=1e-6)

    assert (e2["step"], e2["target"]) == (8, "c-d")
    assert e2["dropped_mbps"] == pytest.approx(d[8, cross].sum(), rel=1e-6)
    assert e2["max_utilization_after"] == pytest.approx(util[8:].max(), rel=1e-6)
