"""The impact panel's data: cut-off nodes, overloads, dropped pairs and the change against the
state before the event, on small networks whose loads are counted by hand."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.dashboard.live.impact_panel import cut_off_nodes, impact_of_last_event
from netdrift.engine.experiments.scenario import LiveScenario
from netdrift.engine.forecasting.settings import ForecastSettings
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries
from tests.helpers import live_run

DEMAND = 10.0  # Mbit/s between every ordered pair


def _network(spur: bool) -> Topology:
    """Ring A-B-C-D-A (capacity 25 Mbit/s per direction), optionally E hanging off A."""
    names = "abcde" if spur else "abcd"
    links = [Link("a-b", "a", "b", 25.0), Link("b-c", "b", "c", 25.0), Link("c-d", "c", "d", 25.0),
             Link("d-a", "d", "a", 25.0)]
    if spur:
        links.append(Link("a-e", "a", "e", 1000.0))
    return Topology("ring", tuple(Node(x, x.upper()) for x in names), tuple(links))


def _live(topo: Topology) -> LiveScenario:
    n = len(topo.nodes)
    src, dst = np.array([(i, j) for i in range(n) for j in range(n) if i != j]).T
    traffic = TrafficMatrixSeries(tuple(x.id for x in topo.nodes), src, dst, np.full((60, len(src)), DEMAND),
                                  60.0, datetime(2024, 1, 1))
    live = live_run(topo, traffic, ("persistence",), ForecastSettings.from_flat({"window": 6, "horizon": 1}), 40)
    live.train()
    live.advance(2)
    return live


def test_nothing_to_show_before_an_event():
    assert impact_of_last_event(_live(_network(False))) is None


def test_a_ring_cut_open_shows_its_overloads_and_what_moved():
    live = _live(_network(False))
    live.fail("a-b")
    imp = impact_of_last_event(live)
    assert imp.event_step == 42 and imp.event_names == ["A – B (a-b) failed"] and imp.cut_off == []
    # Cut open, the ring is the line B-C-D-A: a direction carries 10 Mbit/s x (nodes behind) x (nodes ahead).
    line = {"B → C": 30, "C → D": 40, "D → A": 30, "A → D": 30, "D → C": 40, "C → B": 30}
    assert dict(zip(imp.overloads["direction"], imp.overloads["excess (Mbit/s)"])) == \
        {d: v - 25.0 for d, v in line.items()}
    assert imp.overloads["excess (Mbit/s)"].tolist() == [15.0, 15.0, 5.0, 5.0, 5.0, 5.0]
    assert dict(zip(imp.overloads["direction"], imp.overloads["utilisation (%)"]))["C → D"] == 160.0
    # Before, every direction of the 4-ring carried 20 Mbit/s (neighbours 10, the opposite node's 10 split in two).
    changes = {r["direction"]: (r["before (Mbit/s)"], r["after (Mbit/s)"]) for _, r in imp.changes.iterrows()}
    assert changes["C → D"] == (20.0, 40.0) and changes["A → B"] == (20.0, 0.0)
    assert imp.dropped_after == 0.0 and imp.dropped_delta == 0.0 and len(imp.dropped_pairs) == 0


def test_a_spur_cut_off_lists_the_node_and_the_pairs_it_can_no_longer_reach():
    live = _live(_network(True))
    live.fail("a-e")
    live.advance(1)  # the panel keeps showing the last event
    imp = impact_of_last_event(live)
    assert imp.cut_off == ["e"] and imp.cut_off_names == ["E"] and imp.step == 43 and imp.event_step == 42
    assert imp.dropped_before == 0.0 and imp.dropped_after == pytest.approx(8 * DEMAND)
    assert sorted(imp.dropped_pairs["pair"]) == sorted(
        [f"E → {x}" for x in "ABCD"] + [f"{x} → E" for x in "ABCD"])[:8]
    assert set(imp.dropped_pairs["dropped (Mbit/s)"]) == {DEMAND}


def test_a_failed_node_is_not_listed_as_cut_off_but_its_stranded_neighbour_is():
    topo = _network(True)
    assert cut_off_nodes(topo, frozenset(), frozenset({"a"})) == ["e"]
    assert cut_off_nodes(topo, frozenset({"a-b", "c-d"}), frozenset()) in (["b", "c"],)


def test_clicks_that_cancel_out_at_one_step_show_no_change_and_noise_is_not_a_change():
    live = _live(_network(False))
    live.fail("a-b")
    live.restore("a-b")
    imp = impact_of_last_event(live)
    assert imp.event_names == [] and len(imp.changes) == 0 and len(imp.overloads) == 0
    live.fail("a-b")
    live.restore("a-b")
    live.fail("a-b")
    assert impact_of_last_event(live).event_names == ["A – B (a-b) failed"]
