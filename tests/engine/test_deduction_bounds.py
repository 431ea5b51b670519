"""The range of a failure's figure over every demand matrix that reproduces the measured loads."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.sweep.deduction_bounds import deduction_bounds
from netdrift.engine.traffic.deduce import deduce_demands
from netdrift.engine.traffic.link_loads import LinkLoadSeries

# A triangle: each pair has its own link, so the loads determine the demands (and every failure's
# loads). Directions: ab a->b, ab b->a, bc b->c, bc c->b, ca c->a, ca a->c; pairs a->b, a->c,
# b->a, b->c, c->a, c->b.
TRI = Topology("tri", tuple(Node(x, x) for x in "abc"), tuple(Link(u + v, u, v, 100.0) for u, v in ("ab", "bc", "ca")))
DEMANDS = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])          # a->b, a->c, b->a, b->c, c->a, c->b
LOADS = np.array([[1.0, 3.0, 4.0, 6.0, 5.0, 2.0]])


def series(y: np.ndarray) -> LinkLoadSeries:
    return LinkLoadSeries(tuple(TRI.direction_names()), y, 5.0, datetime(2024, 1, 1), "test")


def failure(link: str, direction: tuple[str, str]) -> dict:
    return {"links": [link], "nodes": [], "worst_step": 0,
            "worst_direction": {"link_id": direction[0], "src": direction[1], "dst": "?"}}


def test_loads_that_determine_the_demands_pin_every_failure():
    tm, _ = deduce_demands(TRI, series(LOADS))
    # bc down: b->c goes b->a->c, c->b goes c->a->b; a->b then carries a->b + c->b = 1 + 6.
    (b,) = deduction_bounds(TRI, series(LOADS), tm, [failure("bc", ("ab", "a"))])
    assert b["step"] == 0 and b["pinned"]
    assert b["low"] == pytest.approx(0.07, rel=2e-3) and b["high"] == pytest.approx(0.07, rel=2e-3)


def test_a_pair_no_measurement_bounds_leaves_the_top_open():
    y = LOADS.copy()
    y[0, 0] = np.nan                                  # a->b not measured: pair a->b crosses nothing measured
    tm, _ = deduce_demands(TRI, series(y))
    (b,) = deduction_bounds(TRI, series(y), tm, [failure("bc", ("ab", "a"))])
    # c->b (6, pinned by c->b's own link) still crosses a->b after the failure: the floor.
    assert b["high"] is None and not b["pinned"]
    assert b["low"] == pytest.approx(0.06, rel=2e-3)


def test_no_worst_direction_no_range_and_foreign_input_refused():
    tm, _ = deduce_demands(TRI, series(LOADS))
    assert deduction_bounds(TRI, series(LOADS), tm, [{"links": ["ab"], "nodes": [], "worst_step": None,
                                                      "worst_direction": None}]) == [None]
    other = Topology("path", TRI.nodes, TRI.links[:2])
    with pytest.raises(InputError, match="its directions are not those of topology 'path'"):
        deduction_bounds(other, series(LOADS), tm, [])
