"""How big a topology file is, counted without loading it: its ``<node`` and ``<edge`` elements
(GraphML, SNDlib XML) or ``node [`` / ``edge [`` blocks (GML), one pass over the bytes.

A 19 MB GraphML of 198,000 nodes loads in seconds and only then is the traffic it would need
found too large; the count lets a caller refuse it first (see
:func:`netdrift.engine.traffic.sources.check_synthetic_fits`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TopologyCount", "count_topology_file", "count_topology_bytes"]

_XML_NODE = re.compile(rb"<(?:[\w.-]+:)?node[\s/>]")
_XML_EDGE = re.compile(rb"<(?:[\w.-]+:)?(?:edge|link)[\s/>]")
_GML_NODE = re.compile(rb"\bnode\s*\[")
_GML_EDGE = re.compile(rb"\bedge\s*\[")


@dataclass(frozen=True)
class TopologyCount:
    """Elements counted in a file: an upper bound of its nodes and links (duplicates, self-loops
    and parallel edges are merged or dropped by the loader)."""

    nodes: int
    edges: int


def count_topology_file(path: str | Path, max_bytes: int) -> TopologyCount | None:
    """Count the nodes and edges of a GraphML, SNDlib XML or GML file without parsing it; None
    for another format, a file that is not a regular one (a pipe cannot be read twice), a
    missing one, or one over ``max_bytes`` (the loader refuses those itself).

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = os.path.join(tmp, "t.graphml")
    ...     _ = open(p, "w").write('<graphml><graph><node id="a"/><node id="b"><data key="d">x</data></node>'
    ...                            '<edge source="a" target="b"/></graph></graphml>')
    ...     count_topology_file(p, 1 << 20)
    TopologyCount(nodes=2, edges=1)
    """
    p = Path(path)
    try:
        if not p.is_file() or p.stat().st_size > max_bytes:
            return None
        suffix = p.suffix.lower()
        if suffix not in (".graphml", ".xml", ".gml"):
            return None
        data = p.read_bytes()
    except OSError:
        return None
    return count_topology_bytes(data, suffix)


def count_topology_bytes(data: bytes, suffix: str) -> TopologyCount | None:
    """:func:`count_topology_file` for contents already in memory (an upload); ``suffix`` is the
    file name's ending (``".graphml"``, ``".xml"``, ``".gml"``; anything else gives None).

    >>> count_topology_bytes(b"graph [ node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] ]", ".gml")
    TopologyCount(nodes=2, edges=1)
    """
    suffix = suffix.lower()
    if suffix == ".gml":
        return TopologyCount(_count(_GML_NODE, data), _count(_GML_EDGE, data))
    if suffix in (".graphml", ".xml"):
        return TopologyCount(_count(_XML_NODE, data), _count(_XML_EDGE, data))
    return None


def _count(pattern: re.Pattern[bytes], data: bytes) -> int:
    return sum(1 for _ in pattern.finditer(data))
