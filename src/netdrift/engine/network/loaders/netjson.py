"""netdrift's own topology JSON (``.json``): exact round trip, warnings included.

::

    {"format": "netdrift-topology", "version": 1, "name": "...",
     "nodes": [{"id", "label", "lat", "lon"}],
     "links": [{"id", "u", "v", "capacity_mbps", "weight", "length_km"}],
     "warnings": ["..."]}

Hand-written files may leave out ``format``/``version``, node ``label``/``lat``/``lon``, and link
``id`` (``u-v``), ``capacity_mbps`` (default, with a warning), ``weight`` (the ``weights``
scheme) and ``length_km`` (computed from coordinates).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from netdrift.engine.atomic_files import atomic_path
from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders._build import (
    MAX_CAPACITY_MBPS,
    RawEdge,
    RawNode,
    assign_weights,
    build_topology,
    check_weights,
    coords,
)
from netdrift.engine.network.topology import Link, Node, Topology

__all__ = ["FORMAT_NAME", "topology_to_dict", "topology_from_dict", "save_topology_json", "parse_netjson"]

FORMAT_NAME = "netdrift-topology"
FORMAT_VERSION = 1


def topology_to_dict(topology: Topology) -> dict[str, Any]:
    """A JSON-ready dict of the topology (the ``.json`` format and ``topology info --json``).

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("t", (Node("a", "A", 1.0, 2.0), Node("b", "B")), (Link("a-b", "a", "b", 1e3),))
    >>> topology_from_dict(topology_to_dict(t)) == t
    True
    """
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "name": topology.name,
        "nodes": [{"id": n.id, "label": n.label, "lat": n.lat, "lon": n.lon} for n in topology.nodes],
        "links": [
            {
                "id": l.id,
                "u": l.u,
                "v": l.v,
                "capacity_mbps": l.capacity_mbps,
                "weight": l.weight,
                "length_km": l.length_km,
            }
            for l in topology.links
        ],
        "warnings": list(topology.warnings),
    }


def _num(value: Any, what: str, field: str, *, positive: bool = False, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(what, f"{field} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise InputError(what, f"{field} must be positive, got {value!r}")
    return float(value)


def _str(value: Any, what: str, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise InputError(what, f"{field} must be a non-empty string, got {value!r}")
    return str(value)


def topology_from_dict(
    data: Any, weights: str | None = None, source: str = "topology JSON", name: str | None = None
) -> Topology:
    """The Topology a :func:`topology_to_dict` dict describes (exactly, warnings included).

    ``weights`` names a scheme that replaces the stored weights; ``source`` names the input in
    errors; ``name`` is used when the dict has none.
    """
    what = source
    check_weights(weights, what)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or not isinstance(data.get("links"), list):
        raise InputError(what, "not a netdrift topology (expected an object with 'nodes' and 'links' lists)")
    fmt = data.get("format", FORMAT_NAME)
    if fmt != FORMAT_NAME:
        raise InputError(what, f"unknown format {fmt!r} (expected {FORMAT_NAME!r})")
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise InputError(what, f"unsupported {FORMAT_NAME} version {version!r}")
    topo_name = str(data["name"]) if isinstance(data.get("name"), str) and data.get("name") else (name or "topology")
    warnings = data.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise InputError(what, "'warnings' must be a list of strings")

    nodes: list[Node] = []
    for i, n in enumerate(data["nodes"]):
        if not isinstance(n, dict):
            raise InputError(what, f"nodes[{i}] is not an object")
        nid = _str(n.get("id"), what, f"nodes[{i}].id")
        lat = _num(n.get("lat"), what, f"nodes[{i}].lat", optional=True)
        lon = _num(n.get("lon"), what, f"nodes[{i}].lon", optional=True)
        lat, lon, bad = coords(lat, lon)
        if bad:
            raise InputError(what, f"nodes[{i}] ({nid}) has incomplete or out-of-range coordinates")
        label = n.get("label")
        nodes.append(Node(nid, str(label) if label not in (None, "") else nid, lat, lon))
    if not nodes:
        raise InputError(what, "the graph has no nodes")

    raw = [dict(l) if isinstance(l, dict) else None for l in data["links"]]
    complete = all(
        l is not None and all(k in l for k in ("id", "capacity_mbps", "weight", "length_km")) for l in raw
    )
    if not complete:
        # A hand-written file: let the shared rules fill in what it leaves out.
        edges = []
        for i, l in enumerate(raw):
            if l is None:
                raise InputError(what, f"links[{i}] is not an object")
            edges.append(
                RawEdge(
                    _str(l.get("u"), what, f"links[{i}].u"),
                    _str(l.get("v"), what, f"links[{i}].v"),
                    _num(l.get("capacity_mbps"), what, f"links[{i}].capacity_mbps", positive=True, optional=True),
                    _str(l["id"], what, f"links[{i}].id") if l.get("id") is not None else None,
                    _num(l.get("weight"), what, f"links[{i}].weight", positive=True, optional=True),
                )
            )
        file_weights = bool(edges) and all(e.weight is not None for e in edges)
        raw_nodes = [RawNode(n.id, n.label, n.lat, n.lon) for n in nodes]
        return build_topology(
            topo_name, what, raw_nodes, edges, weights=weights, file_weights=file_weights, warnings=warnings
        )

    node_ids = {n.id for n in nodes}
    links: list[Link] = []
    for i, l in enumerate(raw):
        assert l is not None
        lid = _str(l["id"], what, f"links[{i}].id")
        u, v = _str(l.get("u"), what, f"links[{i}].u"), _str(l.get("v"), what, f"links[{i}].v")
        for end in (u, v):
            if end not in node_ids:
                raise InputError(what, f"link '{lid}' names unknown node '{end}'")
        if u == v:
            raise InputError(what, f"link '{lid}' is a self-loop")
        capacity = l["capacity_mbps"]
        if isinstance(capacity, (int, float)) and not isinstance(capacity, bool) and capacity > MAX_CAPACITY_MBPS:
            # finite as a float64, but inf as the float32 the loads are computed in
            raise InputError(what, f"links[{i}].capacity_mbps {capacity:.4g} Mbit/s is above the largest accepted "
                                   f"({MAX_CAPACITY_MBPS:.4g}, float32)")
        links.append(
            Link(
                lid,
                u,
                v,
                _num(l["capacity_mbps"], what, f"links[{i}].capacity_mbps", positive=True),  # type: ignore[arg-type]  # a float: not optional
                _num(l["weight"], what, f"links[{i}].weight", positive=True),  # type: ignore[arg-type]  # a float: not optional
                _num(l["length_km"], what, f"links[{i}].length_km", optional=True),
            )
        )
    out_warnings = list(warnings)
    if weights is not None:
        links = assign_weights(links, weights, out_warnings)
    try:
        return Topology(topo_name, tuple(nodes), tuple(links), tuple(out_warnings))
    except InputError as err:
        raise InputError(what, err.problem) from None


def save_topology_json(topology: Topology, path: str | Path) -> Path:
    """Write the topology as netdrift JSON (atomically: a complete file or none). Returns the path."""
    path = Path(path)
    text = json.dumps(topology_to_dict(topology), indent=1, ensure_ascii=False, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return path


def parse_netjson(data: bytes, name: str, what: str, weights: str | None) -> Topology:
    """Build a Topology from netdrift JSON bytes."""
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(what, "not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise InputError(what, f"truncated or malformed JSON ({err})") from None
    return topology_from_dict(obj, weights=weights, source=what, name=name)

