"""Overload warnings and the map coloured by a forecast upper bound, computed by hand on a tiny
topology and synthetic arrays."""

from __future__ import annotations

import numpy as np

from netdrift.dashboard.map.model import BAND_COLOURS, FAILED_COLOUR, MapFrame, band_colour, build_map
from netdrift.dashboard.map.overload import (
    OverloadWarning,
    direction_short_names,
    overload_warnings,
    upper_utilisation,
    warning_text,
)
from netdrift.engine.network.topology import Link, Node, Topology


def triangle() -> Topology:
    """IT - AT - DE, 100 Mbit/s links (directions: 0 IT→AT, 1 AT→IT, 2 AT→DE, 3 DE→AT, 4 IT→DE, 5 DE→IT)."""
    nodes = (Node("it", "IT"), Node("at", "AT"), Node("de", "DE"))
    links = (Link("it-at", "it", "at", 100.0), Link("at-de", "at", "de", 100.0), Link("it-de", "it", "de", 100.0))
    return Topology("tri", nodes, links)


def test_warnings_by_hand_soonest_then_highest() -> None:
    cap = triangle().direction_capacity
    current = np.array([70.0, 85.0, 95.0, 10.0, np.nan, 80.0])
    upper = np.array([          # H = 3 steps ahead, 90 % of 100 Mbit/s = 90
        [80.0, 92.0, 99.0, 91.0, 99.0, 80.0],
        [94.0, 93.0, 99.0, 50.0, 99.0, 85.0],
        [95.0, 91.0, 99.0, 50.0, 99.0, 89.9],
    ])
    found = overload_warnings(upper, current, cap, 0.9)
    # dir 2 is already over, dir 4 has no current load, dir 5 never reaches 90
    assert [(w.direction, w.steps_ahead) for w in found] == [(1, 1), (3, 1), (0, 2)]
    assert [w.peak_utilisation for w in found] == [0.93, 0.91, 0.95]  # 1 before 3: same step, higher bound
    assert found[0].current_utilisation == 0.85
    up = np.array([True, False, True, True, True, True])  # link it-at failed: direction 1 is never warned
    assert [w.direction for w in overload_warnings(upper, current, cap, 0.9, up)] == [3, 0]
    # exactly at the threshold counts, as in the engine's warning scores
    assert [w.direction for w in overload_warnings(np.full((1, 6), 50.0), np.zeros(6), cap, 0.5)] == list(range(6))


def test_warning_rows_read_with_node_labels_and_minutes() -> None:
    names = direction_short_names(triangle())
    assert names == ["IT → AT", "AT → IT", "AT → DE", "DE → AT", "IT → DE", "DE → IT"]
    w = OverloadWarning(0, 3, 0.94, 0.7)
    assert warning_text(w, names[0], 0.9, 15.0) == "IT → AT may exceed 90 % within 45 min (upper bound 94 %)"
    assert warning_text(OverloadWarning(5, 6, 1.234, 0.5), names[5], 0.85, 15.0) == \
        "DE → IT may exceed 85 % within 1 h 30 min (upper bound 123 %)"


def test_upper_utilisation_is_the_highest_bound_over_the_horizon() -> None:
    upper = np.array([[10.0, np.nan, 95.0, 1.0, 0.0, 50.0], [30.0, np.nan, 20.0, 3.0, 0.0, np.nan]])
    u = upper_utilisation(upper, triangle().direction_capacity)
    assert u[[0, 2, 3, 4, 5]].tolist() == [0.3, 0.95, 0.03, 0.0, 0.5] and np.isnan(u[1])


def test_the_map_colours_by_the_upper_bound_when_asked() -> None:
    topo = triangle()
    pos = {"it": (0.0, 0.0), "at": (1.0, 0.0), "de": (0.5, 1.0)}
    loads = np.array([5.0, 30.0, 50.0, 50.0, 95.0, 5.0])
    upper = np.array([0.95, 0.3, 0.5, np.nan, 1.2, 0.05])
    by_load = build_map(topo, pos, MapFrame(loads, {}, upper_utilisation=upper, upper_label="m upper bound"))
    by_upper = build_map(topo, pos, MapFrame(loads, {}, frozenset({"at-de"}), upper_utilisation=upper,
                                             upper_label="m upper bound", colour_by_upper=True))
    edges = {e["dir"]: e for e in by_upper["edges"]}
    assert [e["color"] for e in by_load["edges"]] == [band_colour(x / 100.0) for x in loads]
    assert edges[0]["color"] == BAND_COLOURS[6] and edges[4]["color"] == BAND_COLOURS[7]  # 95 %, 120 %
    assert edges[2]["color"] == FAILED_COLOUR  # a failed link stays failed
    assert edges[0]["util"] == 0.05 and edges[0]["upper_util"] == 0.95 and edges[3]["upper_util"] is None
    assert "m upper bound: 95.0 %" in edges[0]["title"]
    plain = build_map(topo, pos, MapFrame(loads, {}))
    assert all(e["upper_util"] is None and "upper bound" not in e["title"] for e in plain["edges"])
