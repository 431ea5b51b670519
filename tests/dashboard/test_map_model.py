"""The map's data: weathermap bands, failed style, positions, both directions of each link."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dashboard.map_model import (
    BAND_COLOURS,
    FAILED_COLOUR,
    NO_DATA_COLOUR,
    MapFrame,
    band_colour,
    band_index,
    build_map,
    edge_width,
    legend,
    node_positions,
)
from engine.topology import Link, Node, Topology


def _triangle(coords: bool = True) -> Topology:
    nodes = (
        Node("a", "A", 50.0 if coords else None, 0.0 if coords else None),
        Node("b", "B", 50.0 if coords else None, 10.0 if coords else None),
        Node("c", "C", 40.0 if coords else None, 5.0 if coords else None),
    )
    links = (
        Link("a-b", "a", "b", 10_000.0),
        Link("b-c", "b", "c", 1_000.0),
        Link("a-c", "a", "c", 100_000.0),
    )
    return Topology("tri", nodes, links)


@pytest.mark.parametrize(
    "util, band",
    [(0.0, 0), (0.0999, 0), (0.10, 1), (0.2499, 1), (0.25, 2), (0.40, 3), (0.55, 4),
     (0.6999, 4), (0.70, 5), (0.85, 6), (0.9999, 6), (1.0, 7), (2.5, 7)],
)
def test_band_boundaries_belong_to_the_band_above(util: float, band: int) -> None:
    assert band_index(util) == band
    assert band_colour(util) == BAND_COLOURS[band]


def test_nan_utilisation_is_no_data() -> None:
    assert band_index(float("nan")) == -1
    assert band_colour(float("nan")) == NO_DATA_COLOUR


def test_legend_lists_every_band_then_failed() -> None:
    labels = [e["label"] for e in legend()]
    assert labels[:8] == ["0-10 %", "10-25 %", "25-40 %", "40-55 %", "55-70 %", "70-85 %", "85-100 %", "100 %+"]
    assert "failed" in labels


def test_width_grows_with_capacity() -> None:
    assert edge_width(1_000.0) == 1.0
    assert edge_width(10_000.0) == pytest.approx(2.5)
    assert edge_width(1_000.0) < edge_width(10_000.0) < edge_width(100_000.0)


def test_geographic_positions_keep_east_right_and_north_up() -> None:
    pos = node_positions(_triangle())
    assert pos["a"][0] < pos["c"][0] < pos["b"][0]  # lon 0 < 5 < 10
    assert pos["a"][1] == pos["b"][1]  # same latitude
    assert pos["c"][1] > pos["a"][1]  # further south = lower on screen (y grows down)
    # Equirectangular with cos(mean lat): the 10 deg of longitude at ~46.7 deg N span
    # 10*cos(46.67 deg) = 6.86 units, the 10 deg of latitude 10 units -> y spans the box.
    ys = [p[1] for p in pos.values()]
    xs = [p[0] for p in pos.values()]
    assert max(ys) - min(ys) == pytest.approx(1000.0)
    assert (max(xs) - min(xs)) / (max(ys) - min(ys)) == pytest.approx(math.cos(math.radians(140 / 3)), rel=1e-3)


def test_node_without_coordinates_lands_near_its_neighbours() -> None:
    t = _triangle()
    hyper = Node("h", "hyperedge")
    t = Topology("t", t.nodes + (hyper,), t.links + (Link("h-a", "h", "a", 1e3), Link("h-b", "h", "b", 1e3)))
    pos = node_positions(t, seed=3)
    mid = ((pos["a"][0] + pos["b"][0]) / 2, (pos["a"][1] + pos["b"][1]) / 2)
    assert math.dist(pos["h"], mid) < 0.15 * 1000
    assert node_positions(t, seed=3) == pos  # seeded


def test_without_any_coordinates_the_layout_is_seeded_and_distinct() -> None:
    t = _triangle(coords=False)
    p1, p2 = node_positions(t, seed=1), node_positions(t, seed=1)
    assert p1 == p2
    assert len({p for p in p1.values()}) == 3


def test_each_link_has_two_edges_coloured_per_direction() -> None:
    t = _triangle()
    loads = np.array([500.0, 9_000.0, 50.0, 300.0, 2_000.0, 120_000.0])  # Mbit/s per direction
    m = build_map(t, node_positions(t), MapFrame(loads, {"liquid": loads * 1.1}))
    edges = {e["id"]: e for e in m["edges"]}
    assert len(edges) == 6
    ab, ba = edges["a-b#0"], edges["a-b#1"]
    assert (ab["from"], ab["to"], ba["from"], ba["to"]) == ("a", "b", "b", "a")
    assert ab["color"] == BAND_COLOURS[0]  # 500/10000 = 5 %
    assert ba["color"] == BAND_COLOURS[6]  # 9000/10000 = 90 %
    assert edges["b-c#1"]["color"] == BAND_COLOURS[2]  # 300/1000 = 30 %
    assert edges["a-c#1"]["color"] == BAND_COLOURS[7]  # 120 % overload
    assert ba["title"].startswith("a-b: B (b) \u2192 A (a)")  # the direction, by node name
    assert "9,000 Mbit/s" in ba["title"] and "90.0 %" in ba["title"] and "liquid forecast 9,900 Mbit/s" in ba["title"]
    assert not any(e["failed"] for e in m["edges"])
    json.dumps(m)  # what the component receives must be plain JSON


def test_failed_link_is_dashed_red_in_both_directions() -> None:
    t = _triangle()
    loads = np.array([0.0, 0.0, 50.0, 300.0, 2_000.0, 1_000.0])
    m = build_map(t, node_positions(t), MapFrame(loads, {}, down_links=frozenset({"a-b"})))
    for e in m["edges"]:
        assert e["failed"] is (e["link"] == "a-b")
        if e["failed"]:
            assert e["color"] == FAILED_COLOUR and e["dashes"]
        else:
            assert not e["dashes"]


def test_failed_node_takes_its_links_down() -> None:
    t = _triangle()
    m = build_map(t, node_positions(t), MapFrame(np.zeros(6), {}, down_nodes=frozenset({"c"})))
    failed = {e["link"] for e in m["edges"] if e["failed"]}
    assert failed == {"b-c", "a-c"}
    assert [n["failed"] for n in m["nodes"]] == [False, False, True]
