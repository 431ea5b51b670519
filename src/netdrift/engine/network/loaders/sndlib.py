"""SNDlib network files: the XML format (``.xml``) and the native text format (``.txt``).

Both give nodes with coordinates (x = longitude, y = latitude when geographical) and links
with their own ids. A link's capacity is its pre-installed capacity (taken as Mbit/s, the unit
of SNDlib's traffic matrices); 0 means none is installed, so the default is assumed. Its
routing cost becomes the IGP weight when every link has a positive one.

Native format (SNDlib 1.0)::

    ?SNDlib native format; type: network; version: 1.0
    NODES (
      Berlin ( 13.4 52.5 )
      ...
    )
    LINKS (
      <link_id> ( <source> <target> ) <pre_installed_capacity> <pre_installed_capacity_cost>
          <routing_cost> <setup_cost> ( {<module_capacity> <module_cost>}* )
    )
    DEMANDS ( ... )   # ignored here, like META and ADMISSIBLE_PATHS
"""

from __future__ import annotations

import re
from typing import Any

from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders._build import (
    RawEdge,
    RawNode,
    build_topology,
    coords,
    local_name,
    parse_xml,
    to_float,
)
from netdrift.engine.network.topology import Topology

__all__ = ["parse_sndlib_xml", "parse_sndlib_native"]

_NODE_LINE = re.compile(r"^(\S+)\s*\(\s*(\S+)\s+(\S+)\s*\)")
_LINK_LINE = re.compile(r"^(\S+)\s*\(\s*(\S+)\s+(\S+)\s*\)\s*([^()]*)")


def _finish(
    name: str,
    what: str,
    nodes: list[RawNode],
    raw_xy: list[tuple[float | None, float | None]],
    geographical: bool | None,
    edges: list[RawEdge],
    weights: str | None,
) -> Topology:
    warnings: list[str] = []
    if geographical is None:  # native format: geographical when every point is in range
        geographical = all(
            x is not None and y is not None and -180 <= x <= 180 and -90 <= y <= 90 for x, y in raw_xy
        )
        if not geographical and any(x is not None for x, _ in raw_xy):
            warnings.append("node coordinates are not longitude/latitude: ignored")
    if geographical:
        bad = 0
        for n, (x, y) in zip(nodes, raw_xy):
            n.lat, n.lon, b = coords(y, x)
            bad += b
        if bad:
            warnings.append(f"{bad} node(s) with incomplete or out-of-range coordinates: placed without coordinates")
    costs = [e.weight for e in edges]
    file_weights = bool(edges) and all(c is not None and c > 0 for c in costs)
    if not file_weights:
        if any(c is not None and c > 0 for c in costs):
            warnings.append("some links have no positive routing cost: file routing costs ignored")
        for e in edges:
            e.weight = None
    return build_topology(name, what, nodes, edges, weights=weights, file_weights=file_weights, warnings=warnings)


def _capacity(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


def parse_sndlib_xml(data: bytes, name: str, what: str, weights: str | None) -> Topology:
    """Build a Topology from an SNDlib XML network file."""
    root = parse_xml(data, what)
    if local_name(root.tag) != "network":
        raise InputError(what, f"not an SNDlib network file (root element is <{local_name(root.tag)}>)")

    def child(el: Any, tag: str) -> Any:
        return next((c for c in el if local_name(c.tag) == tag), None) if el is not None else None

    def text(el: Any, tag: str) -> str | None:
        c = child(el, tag)
        return c.text.strip() if c is not None and c.text else None

    structure = child(root, "networkStructure")
    xml_nodes, xml_links = child(structure, "nodes"), child(structure, "links")
    if xml_nodes is None:
        raise InputError(what, "SNDlib network file without <networkStructure><nodes>")
    geographical = (xml_nodes.get("coordinatesType") or "geographical").lower() == "geographical"
    nodes: list[RawNode] = []
    raw_xy: list[tuple[float | None, float | None]] = []
    for el in xml_nodes:
        if local_name(el.tag) != "node":
            continue
        nid = el.get("id")
        if not nid:
            raise InputError(what, "a <node> has no id")
        c = child(el, "coordinates")
        raw_xy.append((to_float(text(c, "x")), to_float(text(c, "y"))))
        nodes.append(RawNode(nid, nid))
    edges: list[RawEdge] = []
    for el in xml_links if xml_links is not None else ():
        if local_name(el.tag) != "link":
            continue
        u, v = text(el, "source"), text(el, "target")
        if u is None or v is None:
            raise InputError(what, f"link '{el.get('id')}' lacks its source or target")
        cap = _capacity(to_float(text(child(el, "preInstalledModule"), "capacity")))
        edges.append(RawEdge(u, v, cap, el.get("id") or None, to_float(text(el, "routingCost"))))
    return _finish(name, what, nodes, raw_xy, geographical, edges, weights)


def _sections(text: str, what: str) -> dict[str, list[str]]:
    """Section name -> its item lines (comments and the header removed)."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    depth = 0
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("?"):
            continue
        if current is None:
            m = re.fullmatch(r"([A-Z_]+)\s*\(\s*(\)?)", line)
            if m is None:
                raise InputError(what, f"not an SNDlib native file: unexpected line {line[:40]!r}")
            if m.group(2):
                sections[m.group(1)] = []
            else:
                current, depth = m.group(1), 1
                sections[current] = []
            continue
        depth += line.count("(") - line.count(")")
        if depth <= 0:
            if line != ")":
                raise InputError(what, f"malformed SNDlib section {current}: {line[:40]!r}")
            current = None
            continue
        sections[current].append(line)
    if current is not None:
        raise InputError(what, f"truncated SNDlib file: section {current} is not closed")
    return sections


def parse_sndlib_native(data: bytes, name: str, what: str, weights: str | None) -> Topology:
    """Build a Topology from an SNDlib native (text) network file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    sections = _sections(text, what)
    if "NODES" not in sections:
        raise InputError(what, "not an SNDlib network file (no NODES section)")
    nodes: list[RawNode] = []
    raw_xy: list[tuple[float | None, float | None]] = []
    for line in sections["NODES"]:
        m = _NODE_LINE.match(line)
        if m is None:
            raise InputError(what, f"malformed NODES line {line[:60]!r}")
        nodes.append(RawNode(m.group(1), m.group(1)))
        raw_xy.append((to_float(m.group(2)), to_float(m.group(3))))
    edges: list[RawEdge] = []
    for line in sections.get("LINKS", []):
        m = _LINK_LINE.match(line)
        if m is None:
            raise InputError(what, f"malformed LINKS line {line[:60]!r}")
        numbers = [to_float(t) for t in m.group(4).split()]
        numbers += [None] * (4 - len(numbers))
        # pre_installed_capacity, pre_installed_capacity_cost, routing_cost, setup_cost
        edges.append(RawEdge(m.group(2), m.group(3), _capacity(numbers[0]), m.group(1), numbers[2]))
    return _finish(name, what, nodes, raw_xy, None, edges, weights)
