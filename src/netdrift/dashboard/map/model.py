"""What the topology map shows, as plain data: vis-network nodes/edges, colours, legend.

Pure functions over engine types (no Streamlit), so they are unit-tested directly and the
map component only draws what they return.

Each physical link ``i`` becomes two vis edges, one per link direction (``2*i``: u->v and
``2*i+1``: v->u), both curved clockwise relative to their own direction so they bow to
opposite sides and both loads stay visible. Colour is the utilisation band (weathermap
style), width grows with capacity, a failed link is dashed black (never one of the bands' hues),
a link without data light grey (the idle 0-10 % band is light blue, not grey). Each direction can
carry its utilisation as a label ("37 %"), always on small maps and on zoom on large ones.

Nodes are placed by Web Mercator where the file gives coordinates (the component draws the
Natural Earth land under them with the same projection) and by a seeded force layout where it
gives none, computed once per topology. Topology Zoo hyperedge junctions are small unlabelled
points, and names read the PoPs behind them ("Washington \u2192 New York / Boston").
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import numpy as np

from netdrift.dashboard.map.labels import direction_label, spark_strings
from netdrift.dashboard.map.names import direction_display_names, end_names, is_junction, junction_members, per_topology
from netdrift.dashboard.map.names import node_name as _name
from netdrift.engine.forecasting.catalogue import MODEL_NAMES
from netdrift.engine.network.geo import plane_layout
from netdrift.engine.network.topology import Link, Node, Topology  # noqa: F401  (Link: doctests)

__all__ = [
    "BAND_EDGES",
    "BAND_COLOURS",
    "NO_DATA_COLOUR",
    "FAILED_COLOUR",
    "band_index",
    "band_colour",
    "legend",
    "node_positions",
    "map_layout",
    "MapLayout",
    "is_junction",
    "junction_members",
    "end_names",
    "direction_display_names",
    "edge_width",
    "MapFrame",
    "build_map",
    "edge_id",
    "LABELS_MAX_LINKS",
    "labels_by_default",
    "OVERLOAD_COLOUR",
    "OVERLOAD_MIN_WIDTH",
    "LABEL_UNITS",
    "is_overloaded",
]

#: Lower bounds (utilisation fraction) of the weathermap bands; the last band is "100%+".
BAND_EDGES: tuple[float, ...] = (0.0, 0.10, 0.25, 0.40, 0.55, 0.70, 0.85, 1.00)
#: One colour per band, cool (idle) to hot (overloaded).
BAND_COLOURS: tuple[str, ...] = (
    "#7fb2e5",  # 0-10 %: light blue, idle (clearly apart from the no-data grey)
    "#3b7dd8",  # 10-25 %: blue
    "#1fa2a8",  # 25-40 %: teal
    "#36a852",  # 40-55 %: green
    "#c9b300",  # 55-70 %: yellow
    "#f28a1a",  # 70-85 %: orange
    "#e0301e",  # 85-100 %: red
    "#e01fd0",  # 100 %+: magenta, overloaded (traffic above capacity): outside the cool-to-hot scale
)
#: The 100 %+ band's colour: an overloaded direction (load over capacity).
OVERLOAD_COLOUR = BAND_COLOURS[-1]
#: An overloaded direction is drawn at least this wide (px), so a low-capacity link over capacity is
#: never a hairline; its label is always drawn (never decluttered away).
OVERLOAD_MIN_WIDTH = 4.0
#: The units a direction's label can read in (the Live page's choice; % by default).
LABEL_UNITS = ("%", "Mbit/s")
NO_DATA_COLOUR = "#c8c8c8"
#: A PoP's dot, and the smaller grey point of a hyperedge junction.
NODE_COLOUR = "#2b3a55"
JUNCTION_COLOUR = "#8a94a6"
#: What the legend's colours measure, with the unit.
LEGEND_TITLE = "Utilisation per direction (load / capacity, %):"
#: Near-black, drawn dashed: far from the 85-100 % red and the 100 %+ magenta.
FAILED_COLOUR = "#111111"
#: Utilisation labels are on by default up to this many links (GEANT 2012's 61), off above (Cogentco's 243).
LABELS_MAX_LINKS = 100


def band_index(utilisation: float) -> int:
    """Weathermap band of a utilisation fraction; -1 for NaN (no data).

    A value on a boundary belongs to the band above it: 0.10 is in "10-25 %".

    >>> [band_index(u) for u in (0.0, 0.0999, 0.10, 0.85, 1.0, 3.2)]
    [0, 0, 1, 6, 7, 7]
    """
    if utilisation is None or math.isnan(utilisation):
        return -1
    idx = 0
    for i, lo in enumerate(BAND_EDGES):
        if utilisation >= lo - 1e-12:
            idx = i
    return idx


def band_colour(utilisation: float) -> str:
    """Colour of a utilisation fraction (``NO_DATA_COLOUR`` for NaN)."""
    i = band_index(utilisation)
    return NO_DATA_COLOUR if i < 0 else BAND_COLOURS[i]


def legend() -> list[dict[str, str]]:
    """Legend entries ``{"label", "colour"}``, bands first, then failed and no-data.

    >>> [e["label"] for e in legend()][:2], legend()[7]["label"]
    (['0-10 %', '10-25 %'], '100 %+')
    """
    out = []
    for i, lo in enumerate(BAND_EDGES):
        if i + 1 < len(BAND_EDGES):
            label = f"{lo * 100:.0f}-{BAND_EDGES[i + 1] * 100:.0f} %"
        else:
            label = f"{lo * 100:.0f} %+"
        out.append({"label": label, "colour": BAND_COLOURS[i]})
    out.append({"label": "failed", "colour": FAILED_COLOUR, "dashed": "1"})
    out.append({"label": "no data", "colour": NO_DATA_COLOUR})
    return out


def labels_by_default(topology: Topology) -> bool:
    """Whether the map shows per-direction utilisation labels by default: small maps only."""
    return len(topology.links) <= LABELS_MAX_LINKS


def is_overloaded(utilisation: float | None, failed: bool = False) -> bool:
    """Whether a direction is over its capacity (load / capacity above 1; never a failed one).

    >>> is_overloaded(1.2), is_overloaded(1.0), is_overloaded(float("nan")), is_overloaded(1.5, True)
    (True, False, False, False)
    """
    return not failed and utilisation is not None and math.isfinite(utilisation) and utilisation > 1.0


def edge_width(capacity_mbps: float) -> float:
    """Drawn width (px) of a link direction: 1 px at <= 1 Gbit/s, +1.5 px per decade, at most 7.

    >>> edge_width(1000.0), edge_width(10_000.0), edge_width(100_000.0)
    (1.0, 2.5, 4.0)
    """
    if not capacity_mbps or capacity_mbps <= 1000.0:
        return 1.0
    return float(min(7.0, 1.0 + 1.5 * math.log10(capacity_mbps / 1000.0)))


@dataclass(frozen=True)
class MapLayout:
    """Node positions on a ``size`` x ``size`` canvas and, for geographic maps, the projection.

    ``projection`` maps lon/lat to the same canvas: ``x = (mx - x0) * scale``,
    ``y = (my - y0) * scale`` with ``(mx, my) = netdrift.engine.network.geo.mercator_xy(lat, lon)``; None when
    no node has coordinates (a force layout, no background).
    """

    positions: dict[str, tuple[float, float]]
    projection: dict[str, float | str] | None


def node_positions(topology: Topology, seed: int = 0, size: float = 1000.0) -> dict[str, tuple[float, float]]:
    """Canvas positions (x right, y down) of every node, fitting a ``size`` x ``size`` box.

    Nodes with lat/lon use Web Mercator (:func:`netdrift.engine.network.geo.mercator_xy`, north up). A node
    without coordinates is put at the mean of its already placed neighbours plus a small seeded
    offset (hyperedge junctions land between their members); when no node has coordinates, a
    seeded force layout is used. Computed once per topology (cached).

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("t", (Node("w", "W", 0.0, 0.0), Node("e", "E", 0.0, 10.0)), ())
    >>> p = node_positions(t)
    >>> p["w"][0] < p["e"][0], p["w"][1] == p["e"][1]
    (True, True)
    """
    return dict(map_layout(topology, seed, size).positions)


def map_layout(topology: Topology, seed: int = 0, size: float = 1000.0) -> MapLayout:
    """:class:`MapLayout` of a topology (cached per topology, seed and size; treat as read-only)."""
    if seed == 0 and size == 1000.0:  # the map's own layout, asked on every render: by identity
        return _default_layout(topology)
    return _layout(topology, int(seed), float(size))


@per_topology
def _default_layout(topology: Topology) -> MapLayout:
    return _layout(topology, 0, 1000.0)


@lru_cache(maxsize=32)
def _layout(topology: Topology, seed: int, size: float) -> MapLayout:
    positions, projection = plane_layout(topology, seed, size)
    return MapLayout(positions, projection)


def edge_id(link_id: str, direction: int) -> str:
    """vis edge id of a link direction (stable across renders)."""
    return f"{link_id}#{direction % 2}"


def _fmt_mbps(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f} Mbit/s" if abs(x) >= 100 else f"{x:,.1f} Mbit/s"


@dataclass(frozen=True)
class MapFrame:
    """Everything the map shows at one step (arrays over link directions, Mbit/s).

    ``upper_utilisation`` is a forecast upper bound per direction as a fraction of capacity
    (e.g. the highest of one model's upper bounds over the horizon), described by
    ``upper_label`` in the hover; with ``colour_by_upper`` the links are coloured by it instead
    of by their current load. With ``utilisation_labels`` each direction is labelled with the
    utilisation it is coloured by.
    """

    loads_mbps: np.ndarray
    forecasts_mbps: Mapping[str, np.ndarray]
    down_links: frozenset[str] = frozenset()
    down_nodes: frozenset[str] = frozenset()
    selected_link: str | None = None
    upper_utilisation: np.ndarray | None = None
    upper_label: str = "forecast upper bound"
    colour_by_upper: bool = False
    utilisation_labels: bool = False
    #: What the labels read in: "%" (utilisation) or "Mbit/s" (load).
    label_unit: str = "%"
    #: (T, D) utilisation of the last T steps up to the shown one, for each direction's hover sparkline.
    history_utilisation: np.ndarray | None = None
    history_label: str = "last day"


def build_map(
    topology: Topology,
    positions: Mapping[str, tuple[float, float]],
    frame: MapFrame | None = None,
) -> dict:
    """vis-network data for the map component: ``{"nodes", "edges", "legend", "legend_title",
    "geo", "large"}``.

    ``geo`` is the projection of :func:`map_layout` when ``positions`` are its positions (the
    component then draws the land under the nodes), ``large`` says whether the map is too big
    for per-direction labels at every zoom. Nodes carry ``junction`` (a hyperedge junction,
    drawn as a small unlabelled point) and ``degree`` (labels of busier PoPs win when labels
    would overlap); edges carry ``link_name`` (the link by its PoPs' names, on the first
    direction only), ``selected`` and ``util_label`` (the utilisation text, drawn on zoom on
    large maps).

    A link direction's hover lists each model's forecast, catalogue models first in the
    catalogue's order. Each edge carries ``link`` (the physical link id, what a click reports), ``dir``
    (the direction index), ``failed`` (bool), ``util`` (current load / capacity, or None) and
    ``upper_util`` (the frame's upper bound / capacity, or None) so the browser side and tests
    can read the state without parsing colours. The colour is ``upper_util``'s band when the
    frame colours by the upper bound, else ``util``'s.

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("t", (Node("a", "A"), Node("b", "B")), (Link("a-b", "a", "b", 1000.0),))
    >>> f = MapFrame(np.array([50.0, 900.0]), {}, frozenset({"a-b"}))
    >>> m = build_map(t, {"a": (0, 0), "b": (1, 0)}, f)
    >>> [(e["from"], e["to"], e["failed"]) for e in m["edges"]]
    [('a', 'b', True), ('b', 'a', True)]
    """
    n_dir = topology.n_directions
    cap = topology.direction_capacity
    if frame is None:
        frame = MapFrame(np.full(n_dir, np.nan), {})
    loads = np.asarray(frame.loads_mbps, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(cap > 0, loads / cap, np.nan)
    upper = None if frame.upper_utilisation is None else np.asarray(frame.upper_utilisation, dtype=float)
    up = topology.link_up_mask(frame.down_links, frame.down_nodes)
    history = None if frame.history_utilisation is None else np.asarray(frame.history_utilisation, dtype=float)
    sparks, tops = spark_strings(history) if history is not None and len(history) else ([""] * n_dir, np.ones(n_dir))
    models = sorted(frame.forecasts_mbps, key=lambda m: MODEL_NAMES.index(m) if m in MODEL_NAMES else len(MODEL_NAMES))

    members, ends, degree = _structure(topology)
    nodes = []
    for n in topology.nodes:
        x, y = positions.get(n.id, (0.0, 0.0))
        down = n.id in frame.down_nodes
        junction = n.id in members
        if junction:
            title = f"junction ({n.label}) joining " + ", ".join(_name(topology, m) for m in members[n.id])
        else:
            title = f"{n.label} ({n.id})"
        title += "\nFAILED" if down else ""
        if n.lat is not None and n.lon is not None:
            title += f"\nlat {n.lat:.2f}, lon {n.lon:.2f}"
        fill = FAILED_COLOUR if down else (JUNCTION_COLOUR if junction else NODE_COLOUR)
        nodes.append(
            {
                "id": n.id,
                "label": "" if junction else n.label,
                "x": x,
                "y": y,
                "title": title,
                "failed": down,
                "junction": junction,
                "degree": degree[n.id],
                "color": {"background": fill, "border": FAILED_COLOUR if down else "#ffffff"},
                "shapeProperties": {"borderDashes": [3, 3] if down else False},
            }
        )

    edges = []
    for d, (eid, src, dst, lid, head, link_name, cap_line, base_width) in enumerate(_edge_statics(topology)):
        failed = not bool(up[d // 2])
        u = float(util[d])
        lines = [head]
        if failed:
            lines.append("FAILED (click to restore)")
        lines.append(f"load {_fmt_mbps(loads[d])}")
        lines.append("utilisation " + ("n/a" if not np.isfinite(u) else f"{u * 100:.1f} %"))
        lines.append(cap_line)
        for m in models:
            lines.append(f"{m} forecast {_fmt_mbps(float(frame.forecasts_mbps[m][d]))}")
        up_u = float("nan") if upper is None else float(upper[d])
        if upper is not None:
            lines.append(f"{frame.upper_label}: " + ("n/a" if not np.isfinite(up_u) else f"{up_u * 100:.1f} %"))
        if not failed:
            lines.append("click to fail this link")
        shown = up_u if frame.colour_by_upper and upper is not None else u
        colour = FAILED_COLOUR if failed else band_colour(shown)
        selected = frame.selected_link == lid
        over = is_overloaded(u, failed)
        text = direction_label(shown, shown * float(cap[d]), frame.label_unit, failed)
        spark, top = sparks[d], float(tops[d])
        edges.append(
            {
                "id": eid,
                "from": src,
                "to": dst,
                "link": lid,
                "dir": d,
                "failed": failed,
                "util": None if not np.isfinite(u) else round(u, 4),
                "upper_util": None if not np.isfinite(up_u) else round(up_u, 4),
                "title": "\n".join(lines),
                # The link by its PoPs, for the search box (once per link: the data goes out every rerun).
                "link_name": link_name,
                "selected": selected,
                "util_label": text,
                "label": text if frame.utilisation_labels else "",
                # Over capacity now: drawn wide and always labelled (its current load), whatever the zoom.
                "overload": over,
                "over_label": direction_label(u, float(loads[d]), frame.label_unit) if over else "",
                "spark": spark,
                "spark_top": round(top, 3),
                "spark_label": frame.history_label if spark else "",
                "color": colour,
                "width": max(base_width, OVERLOAD_MIN_WIDTH if over else 0.0)
                + (1.5 if selected else 0.0),
                "dashes": [6, 5] if failed else False,
            }
        )
    layout = map_layout(topology)
    geo = layout.projection if layout.projection is not None and _same_positions(positions, layout.positions) else None
    # Another node set under the same name (a second upload of "x.graphml") is a new map.
    layout_key = f"{len(nodes)}:{zlib.crc32(' '.join(str(n['id']) for n in nodes).encode()):08x}"
    return {"nodes": nodes, "edges": edges, "legend": legend(), "legend_title": LEGEND_TITLE,
            "geo": geo, "large": not labels_by_default(topology), "layout_key": layout_key}


@per_topology
def _edge_statics(topology: Topology) -> list[tuple[str, str, str, str, str, str, str, float]]:
    """Per link direction, what does not change from one render to the next: (edge id, from, to,
    link id, the hover's first line "link: src -> dst", the link's name (first direction only),
    the hover's capacity line, the width for its capacity). Once per topology, not per click."""
    members, ends, _ = _structure(topology)
    # "DE (29)" where the file names the node, else the bare id; a junction by the PoPs behind it.
    names = {n.id: n.id if not n.label or n.label == n.id else f"{n.label} ({n.id})" for n in topology.nodes}
    cap = topology.direction_capacity
    out = []
    for i, link in enumerate(topology.links):
        for d in (2 * i, 2 * i + 1):
            src, dst = (link.u, link.v) if d % 2 == 0 else (link.v, link.u)
            src_name = names[src] if src not in members else ends[d][0]
            dst_name = names[dst] if dst not in members else ends[d][1]
            out.append((edge_id(link.id, d), src, dst, link.id, f"{link.id}: {src_name} \u2192 {dst_name}",
                        # The link by its PoPs, for the search box (once per link: the data goes out every rerun).
                        f"{ends[d][0]} \u2013 {ends[d][1]}" if d % 2 == 0 else "",
                        f"capacity {_fmt_mbps(cap[d])}", edge_width(float(cap[d]))))
    return out


@per_topology  # by identity: hashing a frozen Topology walks every node and link (ms on Kdl)
def _structure(topology: Topology) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, str]], dict[str, int]]:
    """Junctions with their PoPs, the directions' end names and each node's degree (per topology)."""
    members = junction_members(topology)
    degree = {n.id: 0 for n in topology.nodes}
    for l in topology.links:
        degree[l.u] += 1
        degree[l.v] += 1
    return members, end_names(topology, members), degree


def _same_positions(a: Mapping[str, tuple[float, float]], b: Mapping[str, tuple[float, float]]) -> bool:
    """Whether the caller placed the nodes where the cached layout does (then its projection fits)."""
    return len(a) == len(b) and all(tuple(a[k]) == tuple(v) for k, v in b.items() if k in a)
