"""Names instead of ids where an operator reads them: messages, the status line, the CSV."""

from __future__ import annotations

from netdrift.dashboard.compare.data import direction_labels as csv_direction_labels
from netdrift.dashboard.map.names import direction_labels, element_name, failed_text, link_name, node_name
from netdrift.engine.network.topology import Link, Node, Topology


def _net() -> Topology:
    nodes = (Node("4", "AT"), Node("29", "DE"), Node("7", "7"), Node("8", ""))
    links = (Link("4-29", "4", "29", 10_000.0), Link("7-8", "7", "8", 1_000.0))
    return Topology("net", nodes, links)


def test_link_name_gives_the_ends_by_label_and_keeps_the_id() -> None:
    t = _net()
    assert link_name(t, "4-29") == "AT \u2013 DE (4-29)"
    assert link_name(t, "7-8") == "7 \u2013 8 (7-8)"  # unnamed nodes: their ids
    assert link_name(t, "no-such") == "no-such"
    assert node_name(t, "29") == "DE" and node_name(t, "8") == "8"
    assert element_name(t, "4", "node") == "AT (4)" and element_name(t, "7", "node") == "7"


def test_status_line_names_failed_links_and_nodes() -> None:
    t = _net()
    assert failed_text(t, [], []) == "none"
    assert failed_text(t, {"7-8", "4-29"}, {"29"}) == "AT \u2013 DE (4-29), 7 \u2013 8 (7-8), DE (29)"


def test_csv_direction_names_carry_node_labels() -> None:
    t = _net()
    assert direction_labels(t) == ["4-29: AT -> DE", "4-29: DE -> AT", "7-8: 7 -> 8", "7-8: 8 -> 7"]
    assert csv_direction_labels(t) == ["4-29: AT -> DE", "4-29: DE -> AT", "7-8: 7 -> 8", "7-8: 8 -> 7"]


def test_a_hyperedge_junction_is_named_by_the_pops_behind_it_in_every_text():
    from netdrift.dashboard.map.names import direction_labels, failed_text, link_name
    from netdrift.engine.network.topology import Link, Node, Topology

    # Topology Zoo's hyperedge: a junction node joining Washington, Charlotte and Greensboro.
    t = Topology("t", (Node("1", "Washington", 38.9, -77.0), Node("2", "Charlotte", 35.2, -80.8),
                       Node("3", "Greensboro", 36.1, -79.8), Node("148", "hyperedge 148")),
                 (Link("1-148", "1", "148", 1e4), Link("148-2", "148", "2", 1e4), Link("148-3", "148", "3", 1e4)))
    assert link_name(t, "1-148") == "Washington \u2013 Charlotte / Greensboro (1-148)"
    assert direction_labels(t)[:2] == ["1-148: Washington -> Charlotte / Greensboro",
                                       "1-148: Charlotte / Greensboro -> Washington"]
    assert "hyperedge" not in failed_text(t, ["1-148", "148-2"])
