"""What an operator reads instead of ids: node and link names in messages, the status line and
exports ("Link AT – DE (4-29) failed" rather than "Link 4-29 failed").

Pure functions over :class:`netdrift.engine.network.topology.Topology` (no Streamlit). A node's name is its label
from the file, or its id when the file names none; a link's is its two ends' names with the link
id in parentheses, so the id an operator may grep for stays in every text.
"""

from __future__ import annotations

from functools import wraps
from typing import Callable, Iterable, Mapping, TypeVar

from netdrift.engine.network.topology import Link, Node, Topology  # noqa: F401  (Link: doctests)

T = TypeVar("T")

__all__ = ["node_name", "link_name", "element_name", "direction_labels", "failed_text", "is_junction",
           "junction_members", "end_names", "cached_end_names", "direction_display_names", "per_topology"]


def node_name(topology: Topology, node_id: str) -> str:
    """The node's label, or its id when it has none (or an unknown id)."""
    i = topology.node_index.get(node_id)
    label = topology.nodes[i].label if i is not None else None
    return label or node_id


def link_name(topology: Topology, link_id: str) -> str:
    """``"AT – DE (4-29)"``: the link's ends by name (a hyperedge junction by the PoPs behind it,
    see :func:`end_names`), then its id; the bare id if unknown.

    >>> t = Topology("t", (Node("4", "AT"), Node("29", "DE")), (Link("4-29", "4", "29", 10.0),))
    >>> link_name(t, "4-29"), link_name(t, "9-9")
    ('AT – DE (4-29)', '9-9')
    """
    i = topology.link_index.get(link_id)
    if i is None:
        return link_id
    u, v = cached_end_names(topology)[2 * i]
    return f"{u} \u2013 {v} ({link_id})"


def element_name(topology: Topology, target: str, kind: str = "link") -> str:
    """A link's (``kind="link"``) or a node's name, ``"Vienna (4)"`` for a node."""
    if kind == "link" and target in topology.link_index:
        return link_name(topology, target)
    if target in topology.node_index:
        name = node_name(topology, target)
        return name if name == target else f"{name} ({target})"
    return target


def direction_labels(topology: Topology) -> list[str]:
    """``"0-1: NY -> CHI"`` for every link direction (link id, then the ends by name).

    >>> from netdrift.engine.network.topology import Link, Node, Topology
    >>> t = Topology("t", (Node("0", "NY"), Node("1", "CHI")), (Link("0-1", "0", "1", 10.0),))
    >>> direction_labels(t)
    ['0-1: NY -> CHI', '0-1: CHI -> NY']
    """
    ends = cached_end_names(topology)
    return [f"{lid}: {ends[d][0]} -> {ends[d][1]}" for d, (lid, _, _) in enumerate(topology.direction_names())]


def failed_text(topology: Topology, links: Iterable[str], nodes: Iterable[str] = ()) -> str:
    """The status line's failed elements by name, ``"none"`` when nothing is down."""
    names = [link_name(topology, x) for x in sorted(links)] + [element_name(topology, x, "node") for x in sorted(nodes)]
    return ", ".join(names) if names else "none"


def is_junction(node: Node) -> bool:
    """Whether a node is a Topology Zoo hyperedge junction rather than a PoP.

    The Zoo joins three or more PoPs on one shared segment through a pseudo-node flagged
    ``hyperedge`` with no label and no coordinates; the loaders name it ``"hyperedge <id>"``
    (:func:`netdrift.engine.network.loaders._build.zoo_node_label`).

    >>> is_junction(Node("148", "hyperedge 148")), is_junction(Node("7", "Paris", 48.9, 2.4))
    (True, False)
    """
    return node.label == f"hyperedge {node.id}" and (node.lat is None or node.lon is None)


def junction_members(topology: Topology) -> dict[str, tuple[str, ...]]:
    """For each junction, the PoPs (non-junction nodes) it joins, through chained junctions too.

    >>> t = Topology("t", (Node("a", "A"), Node("b", "B"), Node("c", "C"), Node("h", "hyperedge h")),
    ...              (Link("a-h", "a", "h", 1.0), Link("h-b", "h", "b", 1.0), Link("h-c", "h", "c", 1.0)))
    >>> junction_members(t)
    {'h': ('a', 'b', 'c')}
    """
    junctions = {n.id for n in topology.nodes if is_junction(n)}
    if not junctions:
        return {}
    neighbours: dict[str, list[str]] = {n: [] for n in junctions}
    for l in topology.links:
        if l.u in junctions:
            neighbours[l.u].append(l.v)
        if l.v in junctions:
            neighbours[l.v].append(l.u)
    out = {}
    for j in sorted(junctions):
        seen, stack, pops = {j}, [j], []
        while stack:
            for m in neighbours[stack.pop()]:
                if m in seen:
                    continue
                seen.add(m)
                if m in junctions:
                    stack.append(m)
                else:
                    pops.append(m)
        out[j] = tuple(sorted(pops, key=lambda m: topology.node_index[m]))
    return out


def end_names(topology: Topology, members: Mapping[str, tuple[str, ...]] | None = None) -> list[tuple[str, str]]:
    """(source, destination) names of every link direction as an operator reads them.

    A PoP is named by its label; a junction end by the PoPs behind it, other than the one at
    the far end ("New York / Boston"), so no name reads "hyperedge 148".

    >>> t = Topology("t", (Node("a", "A"), Node("b", "B"), Node("c", "C"), Node("h", "hyperedge h")),
    ...              (Link("a-h", "a", "h", 1.0), Link("h-b", "h", "b", 1.0), Link("h-c", "h", "c", 1.0)))
    >>> end_names(t)[:2]
    [('A', 'B / C'), ('B / C', 'A')]
    """
    members = junction_members(topology) if members is None else members

    def end(node: str, other: str) -> str:
        if node not in members:
            return node_name(topology, node)
        pops = [m for m in members[node] if m != other] or list(members[node])
        return " / ".join(node_name(topology, m) for m in pops) or node_name(topology, node)

    out = []
    for l in topology.links:
        out.append((end(l.u, l.v), end(l.v, l.u)))
        out.append((end(l.v, l.u), end(l.u, l.v)))
    return out


def direction_display_names(topology: Topology) -> list[str]:
    """``"Washington \u2192 New York / Boston"`` for every link direction, junctions resolved to PoPs."""
    return [f"{s} \u2192 {d}" for s, d in end_names(topology)]


def per_topology(fn: Callable[[Topology], T]) -> Callable[[Topology], T]:
    """``fn(topology)`` once per topology object (the 16 most recent): what a map or a table
    derives from the topology alone is not recomputed on every click. The result is shared:
    callers must not modify it.

    Keyed by identity, not by value: hashing a frozen Topology walks all its nodes and links
    (164 us on Kdl), which an lru_cache would pay on every call. An entry keeps its topology
    alive, so its id cannot be reused while it is cached."""
    cache: dict[int, tuple[Topology, T]] = {}

    @wraps(fn)
    def cached(topology: Topology) -> T:
        hit = cache.get(id(topology))
        if hit is not None and hit[0] is topology:
            return hit[1]
        value = fn(topology)
        if len(cache) >= 16:
            cache.pop(next(iter(cache)), None)
        cache[id(topology)] = (topology, value)
        return value

    return cached


@per_topology
def cached_end_names(topology: Topology) -> list[tuple[str, str]]:
    """:func:`end_names` once per topology object (messages, labels and tables ask for it often)."""
    return end_names(topology)
