"""Topology Zoo GraphML (``.graphml``).

Nodes: ``id`` attribute, ``label`` / ``Latitude`` / ``Longitude`` data. Edges: ``source`` /
``target``; speed from ``LinkSpeedRaw`` (bit/s, 0 = unknown), else ``LinkSpeed`` +
``LinkSpeedUnits``, else the text of ``LinkLabel``.
"""

from __future__ import annotations

from typing import Any

from netdrift.engine.errors import InputError
from netdrift.engine.network.capacity import parse_link_speed, speed_from_bits_per_second, speed_from_value_and_units
from netdrift.engine.network.loaders._build import (
    RawEdge,
    RawNode,
    build_topology,
    coords,
    local_name,
    parse_xml,
    to_float,
    zoo_node_label,
)
from netdrift.engine.network.topology import Topology

__all__ = ["parse_graphml", "edge_speed_mbps"]

_LAT_KEYS = ("Latitude", "latitude", "lat")
_LON_KEYS = ("Longitude", "longitude", "lon", "lng")


def edge_speed_mbps(data: dict[str, Any]) -> float | None:
    """Mbit/s stated by a Zoo edge's attributes, or None (see the module docstring)."""
    speed = speed_from_bits_per_second(data.get("LinkSpeedRaw"))
    if speed is None:
        speed = speed_from_value_and_units(data.get("LinkSpeed"), data.get("LinkSpeedUnits"))
    if speed is None:
        speed = parse_link_speed(data.get("LinkLabel"))
    return speed


def _first(data: dict[str, str], names: tuple[str, ...]) -> str | None:
    for n in names:
        if data.get(n) not in (None, ""):
            return data[n]
    return None


def parse_graphml(data: bytes, name: str, what: str, weights: str | None) -> Topology:
    """Build a Topology from GraphML bytes (``what`` names the file in errors)."""
    root = parse_xml(data, what)
    if local_name(root.tag) != "graphml":
        raise InputError(what, f"not a GraphML file (root element is <{local_name(root.tag)}>)")
    keys: dict[str, str] = {}
    defaults: dict[str, dict[str, str]] = {"node": {}, "edge": {}}
    for k in root:
        if local_name(k.tag) != "key":
            continue
        attr = k.get("attr.name") or k.get("id") or ""
        keys[k.get("id") or attr] = attr
        for d in k:
            if local_name(d.tag) == "default" and d.text is not None and k.get("for") in defaults:
                defaults[k.get("for")][attr] = d.text
    graph = next((g for g in root if local_name(g.tag) == "graph"), None)
    if graph is None:
        raise InputError(what, "GraphML file without a <graph> element")
    directed = graph.get("edgedefault", "undirected") == "directed"

    def attrs(el: Any, kind: str) -> dict[str, str]:
        out = dict(defaults[kind])
        for d in el:
            if local_name(d.tag) == "data":
                out[keys.get(d.get("key", ""), d.get("key", ""))] = (d.text or "").strip()
        return out

    nodes: list[RawNode] = []
    edges: list[RawEdge] = []
    bad_coords = 0
    any_directed_edge = False
    for el in graph:
        tag = local_name(el.tag)
        if tag == "node":
            nid = el.get("id")
            if nid is None:
                raise InputError(what, "a <node> has no id")
            a = attrs(el, "node")
            lat, lon, bad = coords(to_float(_first(a, _LAT_KEYS)), to_float(_first(a, _LON_KEYS)))
            bad_coords += bad
            nodes.append(RawNode(nid, zoo_node_label(a.get("label"), a.get("hyperedge"), nid), lat, lon))
        elif tag == "edge":
            u, v = el.get("source"), el.get("target")
            if u is None or v is None:
                raise InputError(what, "an <edge> lacks its source or target")
            edge_directed = el.get("directed")
            if edge_directed == "true" or (edge_directed is None and directed):
                any_directed_edge = True
            edges.append(RawEdge(u, v, edge_speed_mbps(attrs(el, "edge"))))
    warnings = []
    if bad_coords:
        warnings.append(f"{bad_coords} node(s) with incomplete or out-of-range coordinates: placed without coordinates")
    return build_topology(name, what, nodes, edges, weights=weights, directed=any_directed_edge, warnings=warnings)
