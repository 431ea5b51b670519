"""What an operator reads instead of ids: node and link names in messages, the status line and
exports ("Link AT – DE (4-29) failed" rather than "Link 4-29 failed").

Pure functions over :class:`engine.topology.Topology` (no Streamlit). A node's name is its label
from the file, or its id when the file names none; a link's is its two ends' names with the link
id in parentheses, so the id an operator may grep for stays in every text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from engine.topology import Topology

__all__ = ["node_name", "link_name", "element_name", "direction_labels", "failed_text"]


def node_name(topology: Topology, node_id: str) -> str:
    """The node's label, or its id when it has none (or an unknown id)."""
    i = topology.node_index.get(node_id)
    label = topology.nodes[i].label if i is not None else None
    return label or node_id


def link_name(topology: Topology, link_id: str) -> str:
    """``"AT – DE (4-29)"``: the link's ends by name, then its id; the bare id if unknown.

    >>> from engine.topology import Link, Node, Topology
    >>> t = Topology("t", (Node("4", "AT"), Node("29", "DE")), (Link("4-29", "4", "29", 10.0),))
    >>> link_name(t, "4-29"), link_name(t, "9-9")
    ('AT – DE (4-29)', '9-9')
    """
    i = topology.link_index.get(link_id)
    if i is None:
        return link_id
    link = topology.links[i]
    return f"{node_name(topology, link.u)} \u2013 {node_name(topology, link.v)} ({link_id})"


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

    >>> from engine.topology import Link, Node, Topology
    >>> t = Topology("t", (Node("0", "NY"), Node("1", "CHI")), (Link("0-1", "0", "1", 10.0),))
    >>> direction_labels(t)
    ['0-1: NY -> CHI', '0-1: CHI -> NY']
    """
    return [f"{lid}: {node_name(topology, s)} -> {node_name(topology, d)}"
            for lid, s, d in topology.direction_names()]


def failed_text(topology: Topology, links: Iterable[str], nodes: Iterable[str] = ()) -> str:
    """The status line's failed elements by name, ``"none"`` when nothing is down."""
    names = [link_name(topology, x) for x in sorted(links)] + [element_name(topology, x, "node") for x in sorted(nodes)]
    return ", ".join(names) if names else "none"
