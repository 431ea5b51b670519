"""The map's data: weathermap bands, failed style, positions, both directions of each link."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from netdrift.dashboard.map.model import (
    BAND_COLOURS,
    FAILED_COLOUR,
    LABELS_MAX_LINKS,
    NO_DATA_COLOUR,
    MapFrame,
    band_colour,
    band_index,
    build_map,
    direction_display_names,
    edge_width,
    is_junction,
    junction_members,
    labels_by_default,
    legend,
    map_layout,
    node_positions,
)
from netdrift.engine.network.topology import Link, Node, Topology


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
    # Web Mercator: 10 deg of longitude against ln(tan(45 + lat/2)) between 40 and 50 deg N
    # (0.3152 rad = 18.06 "degrees"), so y spans the box and x 10 / 18.06 of it.
    merc = lambda lat: math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))
    ys = [p[1] for p in pos.values()]
    xs = [p[0] for p in pos.values()]
    assert max(ys) - min(ys) == pytest.approx(1000.0)
    assert (max(xs) - min(xs)) / (max(ys) - min(ys)) == pytest.approx(10 / (merc(50) - merc(40)), rel=1e-3)


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


def test_failed_link_is_dashed_black_in_both_directions() -> None:
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


# --- legibility (issue 13, item 3) ------------------------------------------------------------------
def _lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of a "#rrggbb" colour."""
    rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    xyz = ((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b,
           (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883)
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def _delta_e(a: str, b: str) -> float:
    return math.dist(_lab(a), _lab(b))


#: CIE76 distance above which two swatches read as different colours at a glance (2.3 is "just
#: noticeable"; the old idle grey and no-data grey were 21.6 apart, the old failed and 85-100 % reds 8.5).
DISTINCT = 25.0


def test_idle_band_cannot_be_mistaken_for_no_data() -> None:
    assert _delta_e(BAND_COLOURS[0], NO_DATA_COLOUR) > DISTINCT
    assert all(_delta_e(c, NO_DATA_COLOUR) > DISTINCT for c in BAND_COLOURS)


def test_failed_cannot_be_mistaken_for_any_band() -> None:
    assert _delta_e(FAILED_COLOUR, BAND_COLOURS[6]) > DISTINCT  # 85-100 % red
    assert min(_delta_e(FAILED_COLOUR, c) for c in (*BAND_COLOURS, NO_DATA_COLOUR)) > DISTINCT


def test_legend_uses_the_map_colours_and_dashes_failed() -> None:
    entries = {e["label"]: e for e in legend()}
    assert [entries[lbl]["colour"] for lbl in list(entries)[:8]] == list(BAND_COLOURS)
    assert entries["failed"]["colour"] == FAILED_COLOUR and entries["failed"].get("dashed")
    assert entries["no data"]["colour"] == NO_DATA_COLOUR and not entries["no data"].get("dashed")


def test_utilisation_labels_are_an_option_off_by_default_on_large_maps() -> None:
    t = _triangle()
    loads = np.array([500.0, 9_000.0, 50.0, 300.0, 2_000.0, 120_000.0])
    plain = build_map(t, node_positions(t), MapFrame(loads, {}, down_links=frozenset({"b-c"})))
    assert {e["label"] for e in plain["edges"]} == {""}
    shown = build_map(t, node_positions(t), MapFrame(loads, {}, down_links=frozenset({"b-c"}),
                                                    utilisation_labels=True))
    labels = {e["id"]: e["label"] for e in shown["edges"]}
    assert labels["a-b#0"] == "5 %" and labels["a-b#1"] == "90 %" and labels["a-c#1"] == "120 %"
    assert labels["b-c#0"] == labels["b-c#1"] == ""  # failed: no utilisation to show
    assert labels_by_default(t)
    many = Topology("ring", tuple(Node(str(i), str(i)) for i in range(LABELS_MAX_LINKS + 1)),
                    tuple(Link(f"{i}-{i + 1}", str(i), str(i + 1), 1_000.0) for i in range(LABELS_MAX_LINKS)))
    assert labels_by_default(many)
    bigger = Topology("ring", many.nodes + (Node("x", "X"),),
                      many.links + (Link("0-x", "0", "x", 1_000.0),))
    assert not labels_by_default(bigger)


def test_utilisation_labels_follow_the_upper_bound_colouring() -> None:
    t = _triangle()
    loads = np.array([500.0, 9_000.0, 50.0, 300.0, 2_000.0, 1_000.0])
    upper = np.array([0.95, 0.2, 0.3, 0.4, 0.5, 0.6])
    m = build_map(t, node_positions(t), MapFrame(loads, {}, upper_utilisation=upper, colour_by_upper=True,
                                                utilisation_labels=True))
    assert m["edges"][0]["label"] == "95 %" and m["edges"][0]["color"] == BAND_COLOURS[6]


# --- the map at real scale (issue 13, items 2 and 8) -------------------------------------------------
def _mercator_deg(lat: float) -> float:
    """Mercator ordinate in degrees, written out independently of netdrift.engine.network.geo."""
    return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def test_known_cities_are_placed_by_web_mercator() -> None:
    # London, Paris, Madrid (lat, lon): the ratios of their offsets on screen follow Mercator.
    t = Topology("cities", (Node("lon", "London", 51.5074, -0.1278), Node("par", "Paris", 48.8566, 2.3522),
                            Node("mad", "Madrid", 40.4168, -3.7038)), ())
    pos = node_positions(t)
    dx = pos["par"][0] - pos["lon"][0]
    dy = pos["mad"][1] - pos["par"][1]
    assert dx / dy == pytest.approx((2.3522 + 0.1278) / (_mercator_deg(48.8566) - _mercator_deg(40.4168)), rel=1e-3)
    assert pos["mad"][0] < pos["lon"][0] < pos["par"][0]  # Madrid west of London west of Paris
    assert pos["lon"][1] < pos["par"][1] < pos["mad"][1]  # north is up


def test_the_land_is_projected_like_the_nodes() -> None:
    # The component draws land with the projection build_map sends: a node's own lat/lon must land
    # on its position through it, and a point between two nodes between them.
    t = _triangle()
    m = build_map(t, node_positions(t))
    geo = m["geo"]
    assert geo["kind"] == "mercator"
    for n in t.nodes:
        x = (n.lon - geo["x0"]) * geo["scale"]
        y = (-_mercator_deg(n.lat) - geo["y0"]) * geo["scale"]
        node = next(d for d in m["nodes"] if d["id"] == n.id)
        assert (x, y) == pytest.approx((node["x"], node["y"]), abs=0.01)


def test_no_coordinates_no_background_and_a_cached_force_layout() -> None:
    t = _triangle(coords=False)
    assert build_map(t, node_positions(t))["geo"] is None
    assert map_layout(t) is map_layout(t)  # computed once per topology
    p = node_positions(t)
    p["a"] = (0.0, 0.0)  # callers get their own copy: the cache is not changed through it
    assert node_positions(t) == dict(map_layout(t).positions)


def test_positions_other_than_the_layout_get_no_background() -> None:
    t = _triangle()
    moved = {k: (x + 5.0, y) for k, (x, y) in node_positions(t).items()}
    assert build_map(t, moved)["geo"] is None


def _with_junction() -> Topology:
    """Three PoPs joined by a Topology Zoo hyperedge junction, plus a plain link."""
    nodes = (Node("83", "Charlotte", 35.2, -80.8), Node("84", "Greensboro", 36.1, -79.8),
             Node("154", "Washington", 38.9, -77.0), Node("148", "hyperedge 148"), Node("9", "Richmond", 37.5, -77.4))
    links = (Link("83-148", "83", "148", 1e4), Link("84-148", "84", "148", 1e4),
             Link("148-154", "148", "154", 1e4), Link("9-154", "9", "154", 1e4))
    return Topology("zoo", nodes, links)


def test_hyperedge_junctions_are_small_unlabelled_points() -> None:
    t = _with_junction()
    assert [n.id for n in t.nodes if is_junction(n)] == ["148"]
    m = build_map(t, node_positions(t))
    nodes = {n["id"]: n for n in m["nodes"]}
    assert nodes["148"]["junction"] is True and nodes["148"]["label"] == ""
    assert "Charlotte" in nodes["148"]["title"] and "Washington" in nodes["148"]["title"]
    assert all(nodes[i]["label"] and not nodes[i]["junction"] for i in ("83", "84", "154", "9"))
    # Label priority goes to busier PoPs: Washington has two links, Richmond one.
    assert nodes["154"]["degree"] == 2 and nodes["9"]["degree"] == 1
    json.dumps(m)


def test_directions_through_a_junction_are_named_by_the_pops_behind_it() -> None:
    t = _with_junction()
    names = direction_display_names(t)
    assert not any("hyperedge" in n for n in names)
    by_dir = dict(zip(range(len(names)), names))
    assert by_dir[4] == "Charlotte / Greensboro \u2192 Washington"  # 148 -> 154
    assert by_dir[5] == "Washington \u2192 Charlotte / Greensboro"
    assert by_dir[6] == "Richmond \u2192 Washington"
    m = build_map(t, node_positions(t))
    back = next(e for e in m["edges"] if e["id"] == "148-154#1")
    assert back["title"].splitlines()[0] == "148-154: Washington (154) \u2192 Charlotte / Greensboro"
    first = next(e for e in m["edges"] if e["id"] == "148-154#0")
    assert first["link_name"] == "Charlotte / Greensboro \u2013 Washington" and back["link_name"] == ""


def test_chained_junctions_reach_the_pops_on_both() -> None:
    nodes = (Node("a", "A"), Node("b", "B"), Node("c", "C"), Node("h1", "hyperedge h1"), Node("h2", "hyperedge h2"))
    links = (Link("a-h1", "a", "h1", 1.0), Link("h1-h2", "h1", "h2", 1.0), Link("h2-b", "h2", "b", 1.0),
             Link("h2-c", "h2", "c", 1.0))
    members = junction_members(Topology("chain", nodes, links))
    assert members == {"h1": ("a", "b", "c"), "h2": ("a", "b", "c")}


def test_cogentco_default_names_never_read_hyperedge() -> None:
    from netdrift.engine.network.loaders import load_topology

    t = load_topology("Cogentco")
    junctions = [n for n in t.nodes if is_junction(n)]
    assert len(junctions) == 11  # the file's hyperedge="1" nodes
    names = direction_display_names(t)
    assert len(names) == t.n_directions and not any("hyperedge" in n for n in names)
    m = build_map(t, node_positions(t))
    assert m["large"] is True and m["geo"] is not None
    assert not any(e["label"] for e in m["edges"])  # per-direction labels come on zoom, in the browser
    assert all(e["util_label"] == "" for e in m["edges"])  # no loads yet: nothing to label
    assert sum(1 for n in m["nodes"] if n["junction"]) == 11


def test_every_direction_carries_its_utilisation_text_for_zoomed_labels() -> None:
    t = _triangle()
    loads = np.array([500.0, 9_000.0, 50.0, 300.0, 2_000.0, 1_000.0])
    m = build_map(t, node_positions(t), MapFrame(loads, {}, down_links=frozenset({"b-c"}), selected_link="a-b"))
    by_id = {e["id"]: e for e in m["edges"]}
    assert by_id["a-b#1"]["util_label"] == "90 %" and by_id["a-b#1"]["label"] == ""
    assert by_id["b-c#0"]["util_label"] == ""  # failed
    assert by_id["a-b#0"]["selected"] and not by_id["a-c#0"]["selected"]
    assert m["large"] is False and "%" in m["legend_title"]


def test_the_shipped_land_is_small_attributed_and_flat() -> None:
    from pathlib import Path

    static = Path(__file__).resolve().parents[2] / "src" / "netdrift" / "dashboard" / "static"
    land = static / "land-110m.geo.json"
    assert land.stat().st_size < 200 * 1024
    notice = (static / "NOTICE").read_text()
    assert "Natural Earth" in notice and "public domain" in notice and "world-atlas 2.0.2" in notice and "ISC" in notice
    rings = [r for poly in json.loads(land.read_text())["geometry"]["coordinates"] for r in poly]
    assert len(rings) > 100
    for ring in rings:
        assert all(-90.0 <= lat <= 90.0 for _, lat in ring)
        # Drawn flat, a ring never jumps across the map (the antimeridian is unwrapped), except
        # along a pole, where Antarctica is closed.
        assert all(abs(b[0] - a[0]) < 180.0 or abs(a[1]) == abs(b[1]) == 90.0 for a, b in zip(ring, ring[1:]))
    # Europe is there: some ring surrounds Paris (2.35 E, 48.86 N), by ray casting.
    def inside(ring: list[list[float]], x: float, y: float) -> bool:
        hit = False
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                hit = not hit
        return hit
    assert any(inside(r, 2.35, 48.86) for r in rings)
    assert not any(inside(r, -30.0, 40.0) for r in rings)  # mid-Atlantic


# --- overloads stand out, labels in % or Mbit/s, the hover's sparkline (issue 21, item 6) -------
def _two_links() -> Topology:
    """a-b at 1 Gbit/s (a thin link), a-c at 100 Gbit/s (a thick one)."""
    nodes = (Node("a", "A"), Node("b", "B"), Node("c", "C"))
    return Topology("two", nodes, (Link("a-b", "a", "b", 1_000.0), Link("a-c", "a", "c", 100_000.0)))


def test_an_overloaded_thin_direction_is_wide_magenta_and_always_labelled() -> None:
    topo = _two_links()
    # a->b at 1,210 of 1,000 Mbit/s (121 %), b->a 500 (50 %), a->c 71 % , c->a 10 %.
    frame = MapFrame(np.array([1210.0, 500.0, 71_000.0, 10_000.0]), {}, utilisation_labels=False)
    edges = {e["id"]: e for e in build_map(topo, {"a": (0, 0), "b": (1, 0), "c": (0, 1)}, frame)["edges"]}
    over, back, thick = edges["a-b#0"], edges["a-b#1"], edges["a-c#0"]
    assert over["overload"] is True and back["overload"] is False and thick["overload"] is False
    assert over["color"] == "#e01fd0"  # the magenta of the legend's 100 %+, not a band of the cool-to-hot scale
    assert "#e01fd0" not in {back["color"], thick["color"]}
    assert over["width"] == 4.0 and back["width"] == 1.0  # a 1 Gbit/s link is 1 px, over capacity 4 px
    assert over["width"] >= thick["width"]  # 100 Gbit/s: 1 + 1.5 * 2 = 4 px
    # Labels are off, yet the overload carries its own label (drawn whatever the zoom); the others none.
    assert over["label"] == "" and over["over_label"] == "121 %"
    assert back["over_label"] == "" and thick["over_label"] == ""


def test_exactly_at_capacity_or_failed_is_not_an_overload() -> None:
    topo = _two_links()
    frame = MapFrame(np.array([1000.0, 2000.0, 0.0, 0.0]), {}, down_links=frozenset({"a-c"}))
    edges = {e["id"]: e for e in build_map(topo, {"a": (0, 0), "b": (1, 0), "c": (0, 1)}, frame)["edges"]}
    assert edges["a-b#0"]["overload"] is False  # 100 % is full, not over
    assert edges["a-b#1"]["overload"] is True   # 200 %
    frame = MapFrame(np.array([5000.0, 0.0, 0.0, 0.0]), {}, down_links=frozenset({"a-b"}))
    failed = build_map(topo, {"a": (0, 0), "b": (1, 0), "c": (0, 1)}, frame)["edges"][0]
    assert failed["failed"] and not failed["overload"] and failed["over_label"] == ""


def test_labels_read_in_mbit_per_s_when_asked() -> None:
    topo = _two_links()
    loads = np.array([1210.0, 500.0, 71_000.0, 9.5])
    pos = {"a": (0, 0), "b": (1, 0), "c": (0, 1)}
    pct = build_map(topo, pos, MapFrame(loads, {}, utilisation_labels=True))["edges"]
    mbps = build_map(topo, pos, MapFrame(loads, {}, utilisation_labels=True, label_unit="Mbit/s"))["edges"]
    assert [e["label"] for e in pct] == ["121 %", "50 %", "71 %", "0 %"]
    assert [e["label"] for e in mbps] == ["1.2 Gbit/s", "500 Mbit/s", "71.0 Gbit/s", "9.5 Mbit/s"]
    assert mbps[0]["over_label"] == "1.2 Gbit/s"


def test_the_hover_sparkline_encodes_the_last_day_by_hand() -> None:
    topo = _two_links()
    # Four steps of a->b: 0 %, 60 %, 120 %, missing; the scale's top is the highest (1.2).
    history = np.full((4, 4), 0.5)
    history[:, 0] = [0.0, 0.6, 1.2, np.nan]
    frame = MapFrame(np.array([np.nan, 500.0, 50_000.0, 50_000.0]), {}, history_utilisation=history)
    edges = build_map(topo, {"a": (0, 0), "b": (1, 0), "c": (0, 1)}, frame)["edges"]
    # levels round(63 * u / 1.2): 0 -> 'A', 31.5 -> 32 -> 'g', 63 -> '_', NaN -> '.'
    assert edges[0]["spark"] == "Ag_." and edges[0]["spark_top"] == 1.2
    # b->a at 50 % throughout: the top is capacity (1.0), level round(31.5) = 32
    assert edges[1]["spark"] == "gggg" and edges[1]["spark_top"] == 1.0
    assert edges[0]["spark_label"] == "last day"
    # A day of 96 steps is thinned to 48 points ending at the step shown.
    from netdrift.dashboard.map.labels import spark_decode, spark_encode

    day = np.linspace(0.0, 0.95, 96)
    code = spark_encode(day, 1.0)
    assert len(code) == 48
    assert spark_decode(code, 1.0)[-1] == round(round(63 * 0.95) / 63, 3)
    assert build_map(topo, {"a": (0, 0), "b": (1, 0), "c": (0, 1)}, None)["edges"][0]["spark"] == ""
