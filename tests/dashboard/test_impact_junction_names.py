"""The Impact page names a hyperedge junction's end by the PoPs behind it, never "hyperedge N"
(issue 21, item 7: "Washington -> hyperedge 148")."""

from __future__ import annotations

from netdrift.dashboard.impact.data import direction_name
from netdrift.engine.network.topology import Link, Node, Topology


def test_a_direction_into_a_junction_reads_the_pops_behind_it() -> None:
    # Washington joins New York and Boston through one shared segment (a Topology Zoo hyperedge).
    t = Topology("t", (Node("w", "Washington"), Node("n", "New York"), Node("b", "Boston"),
                       Node("148", "hyperedge 148")),
                 (Link("w-148", "w", "148", 1.0), Link("148-n", "148", "n", 1.0), Link("148-b", "148", "b", 1.0)))
    assert direction_name(t, {"link_id": "w-148", "src": "w", "dst": "148"}) == "w-148: Washington -> New York / Boston"
    assert direction_name(t, {"link_id": "w-148", "src": "148", "dst": "w"}) == "w-148: New York / Boston -> Washington"
    assert direction_name(t, {"link_id": "148-n", "src": "148", "dst": "n"}) == "148-n: Washington / Boston -> New York"
    assert direction_name(t, {"link_id": "x", "src": "w", "dst": "n"}) == "x: Washington -> New York"
