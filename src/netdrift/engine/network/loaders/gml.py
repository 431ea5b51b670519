"""Topology Zoo GML (``.gml``): ``graph [ node [ id 0 label "x" Latitude ... ] edge [ ... ] ]``.

A small GML reader of its own (keys, numbers, quoted strings, ``[ ]`` lists) so that repeated
labels, HTML-escaped strings and multigraphs load the same way as the Zoo's GraphML.
"""

from __future__ import annotations

import html
import re
from typing import Any

from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders._build import RawEdge, RawNode, build_topology, coords, to_float, zoo_node_label
from netdrift.engine.network.loaders.graphml import edge_speed_mbps
from netdrift.engine.network.topology import Topology

__all__ = ["parse_gml", "parse_gml_text"]

_TOKEN = re.compile(
    r'\s+|#[^\n]*|(?P<str>"[^"]*")|(?P<open>\[)|(?P<close>\])'
    r"|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<key>[A-Za-z_][A-Za-z0-9_]*)"
)

GmlList = list[tuple[str, Any]]


def parse_gml_text(text: str, what: str) -> GmlList:
    """The file as nested ``[(key, value), ...]`` lists; values are int, float, str or lists."""
    stack: list[GmlList] = [[]]
    key: str | None = None
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            line = text.count("\n", 0, pos) + 1
            if text[pos] == '"':
                raise InputError(what, f"truncated GML: unterminated string on line {line}")
            raise InputError(what, f"not GML: unexpected {text[pos:pos + 12]!r} on line {line}")
        pos = m.end()
        kind = m.lastgroup
        if kind is None:  # whitespace or comment
            continue
        tok = m.group(kind)
        if kind == "close":
            if key is not None or len(stack) == 1:
                raise InputError(what, "not GML: unbalanced ']'")
            done = stack.pop()
            stack[-1][-1] = (stack[-1][-1][0], done)
            continue
        if key is None:
            if kind != "key":
                raise InputError(what, f"not GML: expected a key, found {tok!r}")
            key = tok
            continue
        if kind == "open":
            stack[-1].append((key, None))
            stack.append([])
        elif kind == "str":
            stack[-1].append((key, html.unescape(tok[1:-1])))
        elif kind == "num":
            is_int = re.fullmatch(r"[-+]?\d+", tok) is not None
            stack[-1].append((key, int(tok) if is_int else float(tok)))
        else:  # a bare word as a value
            stack[-1].append((key, tok))
        key = None
    if len(stack) != 1 or key is not None:
        raise InputError(what, "truncated GML: a '[' list is not closed")
    return stack[0]


def _ident(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def parse_gml(data: bytes, name: str, what: str, weights: str | None) -> Topology:
    """Build a Topology from GML bytes (``what`` names the file in errors)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    top = parse_gml_text(text, what)
    graph = next((v for k, v in top if k == "graph" and isinstance(v, list)), None)
    if graph is None:
        raise InputError(what, "not a GML graph (no 'graph [ ... ]' block)")
    directed = any(k == "directed" and v == 1 for k, v in graph)
    nodes: list[RawNode] = []
    edges: list[RawEdge] = []
    bad_coords = 0
    for k, v in graph:
        if not isinstance(v, list) or k not in ("node", "edge"):
            continue
        d = {kk: vv for kk, vv in v if not isinstance(vv, list)}
        if k == "node":
            if "id" not in d:
                raise InputError(what, "a node has no id")
            nid = _ident(d["id"])
            lat = to_float(d.get("Latitude", d.get("latitude", d.get("lat"))))
            lon = to_float(d.get("Longitude", d.get("longitude", d.get("lon"))))
            lat, lon, bad = coords(lat, lon)
            bad_coords += bad
            label = d.get("label")
            nodes.append(RawNode(nid, zoo_node_label(label, d.get("hyperedge"), nid), lat, lon))
        else:
            if "source" not in d or "target" not in d:
                raise InputError(what, "an edge lacks its source or target")
            text_attrs = {kk: str(vv) for kk, vv in d.items()}
            edges.append(RawEdge(_ident(d["source"]), _ident(d["target"]), edge_speed_mbps(text_attrs)))
    warnings = []
    if bad_coords:
        warnings.append(f"{bad_coords} node(s) with incomplete or out-of-range coordinates: placed without coordinates")
    return build_topology(name, what, nodes, edges, weights=weights, directed=directed, warnings=warnings)
