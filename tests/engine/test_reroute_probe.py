"""The simulator's cheap answers about a failure state equal the routing matrices' (issue 19's
models ask them at every event; the matrices take seconds on Kdl)."""

from __future__ import annotations

import numpy as np
import pytest

from netdrift.engine.evaluation.stream import ObservationStream
from netdrift.engine.network.events import FailureEvent
from netdrift.engine.network.loaders import load_topology
from netdrift.engine.network.simulation import Simulator
from netdrift.engine.traffic.sources import make_traffic


@pytest.mark.parametrize("name", ["abilene", "geant2001", "cogentco"])
def test_rerouted_directions_link_state_and_shift_equal_the_routing_matrices(name):
    topo = load_topology(name)
    sim = Simulator(topo, make_traffic("synthetic", topo, 40, 5.0, 0))
    loads = sim.loads.loads[5]
    order = np.argsort(-(loads[0::2] + loads[1::2]))
    busiest, second = topo.links[int(order[0])].id, topo.links[int(order[1])].id
    node = topo.nodes[0].id
    for event in (FailureEvent(10, "fail", busiest), FailureEvent(15, "fail", second),
                  FailureEvent(20, "restore", busiest), FailureEvent(25, "fail", node, "node"),
                  FailureEvent(30, "restore", node, "node")):
        sim.add_event(event)
    stream = ObservationStream(sim, window=4, horizon=2)
    changed = 0
    for step in (5, 10, 11, 15, 20, 25, 30):
        before, after = sim.routing_at(step - 1), sim.routing_at(step)
        diff = (after.matrix - before.matrix).tocsr()
        diff.data[np.abs(diff.data) <= 1e-12] = 0.0  # float residue of ECMP shares (~1e-16) is no change
        diff.eliminate_zeros()
        rows = np.diff(diff.indptr) > 0
        np.testing.assert_array_equal(sim.rerouted_at(step), rows, err_msg=f"step {step}")
        np.testing.assert_array_equal(sim.link_up_at(step), after.link_up)
        changed += int(rows.any())
        # the interval widening's expected shift, routed by the load plans
        from netdrift.engine.traffic.tomogravity import gravity_prior, node_totals

        tm = sim.traffic
        egress, ingress = node_totals(np.asarray(tm.demands[step - 1], dtype=np.float64), tm.src, tm.dst, len(topo.nodes))
        prior = gravity_prior(egress, ingress, tm.src, tm.dst)
        expected = np.abs(after.matrix @ prior - before.matrix @ prior)
        np.testing.assert_allclose(stream.reroute_shift(step), expected, rtol=1e-9, atol=1e-6)
    assert changed == 5  # every event re-routed something, the steps between none
