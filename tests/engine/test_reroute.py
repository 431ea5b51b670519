"""Failure states of large topologies as a change to the all-up loads (engine/network/reroute.py):
the same loads as routing from scratch, the re-routed pairs exactly those whose route used the
failed element, and loads that depend on the failure state only (not on the order of events)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.network import reroute
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.reroute import DELTA_MIN_PAIRS, DeltaPlan, UpstreamIndex
from netdrift.engine.network.routing import LoadPlan, all_pairs, routing_matrix
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries

SIDE = 11  # an 11 x 11 grid: 121 nodes, 14,520 pairs (over DELTA_MIN_PAIRS)


def grid() -> Topology:
    """A grid with unit weights (many equal-cost paths) and one pendant node hung off a corner."""
    nodes = [Node(f"{r}.{c}", f"R{r}C{c}") for r in range(SIDE) for c in range(SIDE)] + [Node("leaf", "Leaf")]
    links = [Link(f"{r}.{c}-{r}.{c + 1}", f"{r}.{c}", f"{r}.{c + 1}", 1000.0) for r in range(SIDE) for c in range(SIDE - 1)]
    links += [Link(f"{r}.{c}-{r + 1}.{c}", f"{r}.{c}", f"{r + 1}.{c}", 1000.0) for r in range(SIDE - 1) for c in range(SIDE)]
    links.append(Link("leaf-link", "0.0", "leaf", 1000.0))
    return Topology("grid", tuple(nodes), tuple(links))


@pytest.fixture
def any_cost(monkeypatch):
    """Every failure state as a delta, whatever it costs (a grid's many equal-cost paths make most
    of them dearer than routing from scratch; the loads must be right either way)."""
    monkeypatch.setattr(reroute, "DELTA_MAX_COST", 10.0)


@pytest.fixture(scope="module")
def net():
    topo = grid()
    src, dst = all_pairs(len(topo.nodes))
    assert len(src) >= DELTA_MIN_PAIRS
    rng = np.random.default_rng(3)
    demands = rng.uniform(0.0, 1.0, (8, len(src))).astype(np.float32)
    demands[5] = np.nan          # a missing interval
    demands[6, :50] = np.nan     # isolated missing demands count as 0
    tm = TrafficMatrixSeries(tuple(n.id for n in topo.nodes), src, dst, demands, 5.0, datetime(2024, 1, 1))
    return topo, tm


def oracle(topo: Topology, tm: TrafficMatrixSeries, down_links=(), down_nodes=()):
    """Loads and dropped demand by the per-pair routing matrix of the state, in float64."""
    node_up = np.array([n.id not in down_nodes for n in topo.nodes])
    r = routing_matrix(topo, topo.link_up_mask(down_links, down_nodes), node_up, tm.src, tm.dst)
    d = np.asarray(tm.demands, dtype=np.float64)
    missing = np.isnan(d).all(axis=1)
    d = np.nan_to_num(d)
    loads, dropped = d @ r.matrix.T.toarray(), d[:, r.unreachable].sum(axis=1)
    loads[missing], dropped[missing] = np.nan, np.nan
    return loads, dropped


def test_the_re_routed_pairs_are_those_whose_route_used_the_link(net) -> None:
    topo, tm = net
    index = UpstreamIndex(LoadPlan(topo, src=tm.src, dst=tm.dst)._dag)
    frac = routing_matrix(topo, src=tm.src, dst=tm.dst).matrix.tocsr()
    for lid in ("0.0-0.1", "5.5-5.6", "leaf-link"):
        i = topo.link_index[lid]
        down = np.zeros(topo.n_directions, dtype=bool)
        down[2 * i:2 * i + 2] = True
        expected = np.flatnonzero(np.asarray(abs(frac[2 * i:2 * i + 2]).sum(axis=0)).ravel() > 0)
        assert np.array_equal(index.affected(down), expected), lid


@pytest.mark.parametrize("down_links, down_nodes", [({"5.5-5.6"}, ()), ({"0.0-0.1", "10.9-10.10"}, ()),
                                                    ({"leaf-link"}, ()), ((), {"3.3"})])
def test_delta_loads_equal_routing_from_scratch(net, any_cost, down_links, down_nodes) -> None:
    topo, tm = net
    sim = Simulator(topo, tm)
    for lid in down_links:
        sim.add_event(FailureEvent(2, "fail", lid, "link"))
    for nid in down_nodes:
        sim.add_event(FailureEvent(2, "fail", nid, "node"))
    plan = sim.loads.segments[-1][2]
    assert isinstance(plan, DeltaPlan) and 0 < len(plan.pairs) < tm.n_pairs
    loads, dropped = oracle(topo, tm, down_links, down_nodes)
    got = sim.loads
    cap = topo.direction_capacity
    assert np.array_equal(np.isnan(got.loads), np.isnan(loads))
    assert np.nanmax(np.abs(got.loads[2:] - loads[2:]) / cap) < 1e-6  # the failure is in force from step 2
    np.testing.assert_allclose(got.dropped_mbps[2:], dropped[2:], rtol=1e-6, atol=1e-6)
    up = topo.link_up_mask(down_links, down_nodes)
    off = np.flatnonzero(~np.repeat(up, 2))
    assert (got.loads[2:5, off] == 0).all() and (got.loads[7:, off] == 0).all()
    assert np.nanmin(got.loads) >= 0
    # the plan's own apply (what the impact panel calls) agrees with the stored loads
    one, lost = plan.apply(np.asarray(tm.demands[3:4]), np.float32)
    assert np.abs(one[0] - got.loads[3]).max() < 1e-6 * cap.max() and lost[0] == pytest.approx(dropped[3], rel=1e-6)
    assert plan.unreachable.sum() == routing_matrix(topo, up, np.array([n.id not in down_nodes for n in topo.nodes]),
                                                    tm.src, tm.dst).unreachable.sum()


def test_loads_depend_on_the_state_only_and_a_restore_gives_back_the_bits(net, any_cost) -> None:
    topo, tm = net
    base = Simulator(topo, tm).loads.loads.copy()
    a, b = FailureEvent(2, "fail", "0.0-0.1", "link"), FailureEvent(4, "fail", "10.9-10.10", "link")
    one, two = Simulator(topo, tm), Simulator(topo, tm)
    one.add_event(a)
    one.add_event(b)
    two.add_event(b)   # the later event first (a run rebuilt from a spec's failures and clicks)
    two.add_event(a)
    assert isinstance(one.loads.segments[-1][2], DeltaPlan)
    assert np.array_equal(one.loads.loads, two.loads.loads, equal_nan=True)
    # seven clicks at one step net to the link down, then a restore: the all-up bits again
    clicks = Simulator(topo, tm)
    for k in range(7):
        clicks.add_event(FailureEvent(3, "fail" if k % 2 == 0 else "restore", "5.5-5.6", "link"))
    single = Simulator(topo, tm, [FailureEvent(3, "fail", "5.5-5.6", "link")])
    assert np.array_equal(clicks.loads.loads, single.loads.loads, equal_nan=True)
    clicks.add_event(FailureEvent(3, "restore", "5.5-5.6", "link"))
    assert np.array_equal(clicks.loads.loads, base, equal_nan=True)


def test_a_state_is_a_delta_only_where_that_is_cheaper(net) -> None:
    """At the default cost limit: a pendant link (242 pairs re-routed, nowhere to go) is a delta;
    the grid's central link (4,320 pairs over many equal-cost paths) is routed from scratch."""
    topo, tm = net
    sim = Simulator(topo, tm)
    sim.add_event(FailureEvent(2, "fail", "leaf-link", "link"))
    assert isinstance(sim.loads.segments[-1][2], DeltaPlan)
    sim.add_event(FailureEvent(4, "restore", "leaf-link", "link"))
    sim.add_event(FailureEvent(4, "fail", "5.5-5.6", "link"))
    assert isinstance(sim.loads.segments[-1][2], LoadPlan)
