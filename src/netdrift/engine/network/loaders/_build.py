"""What every loader shares: safe XML parsing and turning raw nodes/edges into a Topology.

A format module only reads its file into :class:`RawNode` / :class:`RawEdge` lists;
:func:`build_topology` then applies the same rules to every format: self-loops dropped,
parallel edges merged, unknown speeds defaulted, lengths, weights, connectivity check, each
with one summarising warning.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from netdrift.engine.errors import InputError
from netdrift.engine.network.geo import haversine_km
from netdrift.engine.network.topology import DEFAULT_CAPACITY_MBPS, Link, Node, Topology

#: Weight schemes accepted by ``load_topology(weights=...)``.
WEIGHT_SCHEMES = ("hop", "distance", "inv-capacity")
#: Reference bandwidth of the inv-capacity scheme (OSPF auto-cost), Mbit/s.
REFERENCE_BANDWIDTH_MBPS = 100_000.0
#: Smallest distance weight, km: co-located routers must not form zero-cost loops.
MIN_DISTANCE_WEIGHT = 1.0
#: Largest link capacity accepted, Mbit/s: float32's largest finite value (loads and the
#: synthetic demands scaled to capacity are float32; above it they would become inf).
MAX_CAPACITY_MBPS = 3.4028234663852886e38

_MAX_LISTED = 8


@dataclass
class RawNode:
    id: str
    label: str
    lat: float | None = None
    lon: float | None = None


@dataclass
class RawEdge:
    u: str
    v: str
    capacity_mbps: float | None = None
    id: str | None = None
    weight: float | None = None


def check_weights(weights: str | None, what: str = "topology") -> None:
    """Raise InputError (naming ``what``) for an unknown weight scheme name."""
    if weights is not None and weights not in WEIGHT_SCHEMES:
        raise InputError(what, f"unknown weights scheme {weights!r} (choose from {', '.join(WEIGHT_SCHEMES)})")


def parse_xml(data: bytes, what: str) -> Any:
    """Parse XML bytes with defusedxml: entity declarations and external references refused."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        return DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as err:
        raise InputError(
            what, f"refused: the XML declares entities or external references ({type(err).__name__})"
        ) from None
    except DET.ParseError as err:
        raise InputError(what, f"truncated or malformed XML ({err})") from None


def local_name(tag: Any) -> str:
    """Element tag without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def to_float(text: Any) -> float | None:
    """A finite float, or None for blank / junk / NaN."""
    if text is None:
        return None
    try:
        x = float(str(text).strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def coords(lat: float | None, lon: float | None) -> tuple[float | None, float | None, bool]:
    """(lat, lon, bad): both kept only when both are present and within range."""
    if lat is None or lon is None:
        return None, None, lat is not None or lon is not None
    if -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0:
        return lat, lon, False
    return None, None, True


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def _components(node_ids: Sequence[str], links: Iterable[tuple[str, str]]) -> list[int]:
    """Sizes of the connected components, largest first (union-find)."""
    parent = {n: n for n in node_ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in links:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[ru] = rv
    sizes: dict[str, int] = {}
    for n in node_ids:
        r = find(n)
        sizes[r] = sizes.get(r, 0) + 1
    return sorted(sizes.values(), reverse=True)


def assign_weights(links: list[Link], weights: str, warnings: list[str]) -> list[Link]:
    """Links with weights of the named scheme (see ``load_topology``)."""
    if weights == "hop":
        return [_with_weight(l, 1.0) for l in links]
    if weights == "inv-capacity":
        # OSPF auto-cost: integer part of reference / bandwidth, at least 1.
        return [_with_weight(l, max(1.0, float(math.floor(REFERENCE_BANDWIDTH_MBPS / l.capacity_mbps)))) for l in links]
    known = [l.length_km for l in links if l.length_km is not None]
    missing = len(links) - len(known)
    if not known:
        if links:
            warnings.append(
                "distance weights: no link has a length (no node coordinates); every weight set to 1 (hop count)"
            )
        return [_with_weight(l, 1.0) for l in links]
    median = statistics.median(known)
    if missing:
        warnings.append(
            f"distance weights: {missing} of {len(links)} links have no length (an end without "
            f"coordinates); they use the median length {median:.1f} km"
        )
    return [
        _with_weight(l, max(MIN_DISTANCE_WEIGHT, l.length_km if l.length_km is not None else median))
        for l in links
    ]


def _with_weight(link: Link, weight: float) -> Link:
    return Link(link.id, link.u, link.v, link.capacity_mbps, weight, link.length_km)


def build_topology(
    name: str,
    what: str,
    nodes: Sequence[RawNode],
    edges: Sequence[RawEdge],
    *,
    weights: str | None,
    file_weights: bool = False,
    directed: bool = False,
    warnings: Sequence[str] = (),
) -> Topology:
    """Apply the shared rules and build the Topology.

    ``file_weights``: the edges carry usable weights from the file (used unless ``weights``
    names a scheme). ``directed``: a reverse edge (v, u) is the other direction of the same
    physical link, so it is not added to the capacity (the larger direction wins).
    """
    check_weights(weights, what)
    out_warnings = list(warnings)
    if not nodes:
        raise InputError(what, "the graph has no nodes")
    index: dict[str, int] = {}
    for n in nodes:
        if n.id in index:
            raise InputError(what, f"node id '{n.id}' appears twice")
        index[n.id] = len(index)
    node_by_id = {n.id: n for n in nodes}

    loops: list[str] = []
    groups: dict[tuple[str, str], list[RawEdge]] = {}
    for e in edges:
        for end in (e.u, e.v):
            if end not in index:
                raise InputError(what, f"edge {e.id or f'{e.u}-{e.v}'} names unknown node '{end}'")
        if e.u == e.v:
            loops.append(e.id or f"{e.u}-{e.v}")
            continue
        key = (e.u, e.v) if index[e.u] <= index[e.v] else (e.v, e.u)
        groups.setdefault(key, []).append(e)
    if loops:
        out_warnings.append(f"dropped {len(loops)} self-loop(s): {_listed(loops)}")

    merged: list[str] = []
    reverse_pairs = 0
    assumed = 0
    links: list[Link] = []
    used_ids: set[str] = set()
    for group in groups.values():
        first = group[0]
        lid = first.id or f"{first.u}-{first.v}"
        if lid in used_ids:  # e.g. node ids that themselves contain '-'
            k = 2
            while f"{lid}#{k}" in used_ids:
                k += 1
            lid = f"{lid}#{k}"
        used_ids.add(lid)
        caps = [e.capacity_mbps if e.capacity_mbps is not None else DEFAULT_CAPACITY_MBPS for e in group]
        if any(e.capacity_mbps is None for e in group):
            assumed += 1
        if directed:
            forward = [c for e, c in zip(group, caps) if e.u == first.u]
            backward = [c for e, c in zip(group, caps) if e.u != first.u]
            capacity = max(sum(forward), sum(backward))
            if backward:
                reverse_pairs += 1
            extra = max(len(forward), 1) - 1 + max(len(backward), 1) - 1
        else:
            capacity = sum(caps)
            extra = len(group) - 1
        if not capacity <= MAX_CAPACITY_MBPS:  # parallel links summed can overflow too
            raise InputError(what, f"link {lid}: capacity {capacity:.4g} Mbit/s is above the largest accepted "
                                   f"({MAX_CAPACITY_MBPS:.4g}, float32)")
        if extra:
            absorbed = [e.id for e in group[1:] if e.id]
            merged.append(f"{lid} (absorbs {'+'.join(absorbed)})" if absorbed else f"{lid} (x{extra + 1})")
        file_w = [e.weight for e in group if e.weight is not None]
        a, b = node_by_id[first.u], node_by_id[first.v]
        length = None
        if a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None:
            length = haversine_km(a.lat, a.lon, b.lat, b.lon)
        links.append(Link(lid, first.u, first.v, float(capacity), min(file_w) if file_w else 1.0, length))
    if merged:
        out_warnings.append(
            f"merged {len(merged)} set(s) of parallel links into one link each, capacities summed: {_listed(merged)}"
        )
    if reverse_pairs:
        out_warnings.append(
            f"directed graph: {reverse_pairs} pair(s) of opposite edges taken as the two directions of one link"
        )
    if assumed:
        out_warnings.append(
            f"{assumed} of {len(links)} links have no stated speed: assumed {DEFAULT_CAPACITY_MBPS:g} Mbit/s"
        )

    if weights is not None or not file_weights:
        links = assign_weights(links, weights or "hop", out_warnings)

    sizes = _components([n.id for n in nodes], ((l.u, l.v) for l in links))
    if len(sizes) > 1:
        isolated = sum(1 for s in sizes if s == 1)
        out_warnings.append(
            f"the graph is disconnected: {len(sizes)} components (largest {sizes[0]} of {len(nodes)} nodes"
            + (f", {isolated} isolated node(s)" if isolated else "")
            + "); traffic between components is dropped"
        )
    return Topology(
        name,
        tuple(Node(n.id, n.label, n.lat, n.lon) for n in nodes),
        tuple(links),
        tuple(out_warnings),
    )


def zoo_node_label(label: object, hyperedge: object, node_id: str) -> str:
    """A Topology Zoo node's label; the Zoo writes the text "None" for hyperedge pseudo-nodes.

    >>> zoo_node_label("None", "1", "148"), zoo_node_label("Paris", None, "3"), zoo_node_label("", None, "4")
    ('hyperedge 148', 'Paris', '4')
    """
    text = "" if label is None else str(label)
    if text and text != "None":
        return text
    return f"hyperedge {node_id}" if str(hyperedge) in ("1", "True", "true") else node_id
