"""Topology view helpers: parse an uploaded file safely, and edit link capacities and weights.

Pure functions (no Streamlit) so they are unit-tested directly; the view only wires widgets.
An uploaded file is only ever *parsed* by :func:`netdrift.engine.network.loaders.load_topology` (XML through
defusedxml, GML/JSON as text): never unpickled, imported or executed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from netdrift.dashboard.common.export import sanitize_filename
from netdrift.dashboard.map.model import build_map, node_positions
from netdrift.engine.budget import check_memory
from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders import load_topology_bytes
from netdrift.engine.network.loaders.precount import count_topology_bytes
from netdrift.engine.network.topology import Topology
from netdrift.engine.traffic.synthetic import synthetic_memory_bytes

__all__ = [
    "MAX_UPLOAD_BYTES",
    "UPLOAD_TYPES",
    "LINK_COLUMNS",
    "EDITABLE_COLUMNS",
    "topology_from_upload",
    "links_frame",
    "apply_link_edits",
    "topology_counts",
    "UPLOAD_WIDGET_MB",
    "preview_data",
]

#: Largest topology file accepted from the browser (20 MiB; real backbones are < 1 MiB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: What the upload widgets say and let through (MB): the same 20 as MAX_UPLOAD_BYTES, so the box
#: does not offer "200MB" under a label that says "up to 20 MB"; the server's
#: ``server.maxUploadSize`` is set to it too (:mod:`netdrift.dashboard.serve`).
UPLOAD_WIDGET_MB = MAX_UPLOAD_BYTES // 2**20
#: File name endings the loaders understand.
UPLOAD_TYPES = ("graphml", "gml", "xml", "txt", "json")
LINK_COLUMNS = ["id", "u", "v", "capacity_mbps", "weight", "length_km"]
EDITABLE_COLUMNS = ("capacity_mbps", "weight")


def topology_from_upload(
    filename: str, data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, weights: str | None = None
) -> Topology:
    """Parse uploaded bytes as a topology file; bad input raises InputError naming the upload.

    The bytes are parsed in memory by :func:`netdrift.engine.network.loaders.load_topology_bytes` (the same
    parsers as :func:`netdrift.engine.network.loaders.load_topology`, without a temporary file); the uploaded
    name, sanitised, only picks the format and the topology's name.

    Examples
    --------
    >>> topology_from_upload("x.gml", b"")
    Traceback (most recent call last):
    ...
    netdrift.engine.errors.InputError: upload 'x.gml': the file is empty
    """
    safe = sanitize_filename(Path(str(filename).replace("\\", "/")).name or "upload", default="upload")
    what = f"upload '{safe}'"
    if not isinstance(data, (bytes, bytearray)):
        raise InputError(what, "expected the file's bytes")
    if len(data) == 0:
        raise InputError(what, "the file is empty")
    if len(data) > max_bytes:
        raise InputError(what, f"{len(data) / 2**20:.1f} MiB is over the {max_bytes / 2**20:.0f} MiB limit")
    suffix = Path(safe).suffix.lower().lstrip(".")
    if suffix not in UPLOAD_TYPES:
        raise InputError(what, f"unknown file type '.{suffix}' (expected one of: {', '.join('.' + t for t in UPLOAD_TYPES)})")
    check_upload_fits(bytes(data), "." + suffix, what)
    return load_topology_bytes(bytes(data), safe, weights=weights, max_bytes=max_bytes)


#: The smallest run a topology is uploaded for: one day of 5-minute steps of synthetic traffic.
UPLOAD_CHECK_STEPS = 288


def check_upload_fits(data: bytes, suffix: str, what: str, budget_bytes: int | None = None) -> None:
    """Refuse (``suffix``: the file name's ending, e.g. ``".graphml"``), before parsing, an upload whose synthetic traffic for one day would not fit the memory
    budget (nodes and edges counted in one pass over the bytes: GraphML, SNDlib XML, GML); parsing
    such a file alone takes seconds and its node pairs are what the traffic is made of.

    >>> big = b"<graphml><graph>" + b"".join(b'<node id="%d"/>' % i for i in range(3000)) + b"</graph></graphml>"
    >>> try:
    ...     check_upload_fits(big, ".graphml", "upload 'big.graphml'", budget_bytes=2**30)
    ... except InputError as err:
    ...     print(err.what)
    upload 'big.graphml' (3000 nodes counted before parsing; synthetic traffic for one day of 5-minute steps)
    """
    count = count_topology_bytes(data, suffix)
    if count is None:
        return
    check_memory(f"{what} ({count.nodes} nodes counted before parsing; synthetic traffic for one day of "
                 "5-minute steps)", synthetic_memory_bytes(count.nodes, 2 * count.edges, UPLOAD_CHECK_STEPS),
                 budget_bytes)


def links_frame(topology: Topology) -> pd.DataFrame:
    """The links as a table: ``id, u, v, capacity_mbps, weight, length_km`` (one row per link).

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("t", (Node("a", "A"), Node("b", "B")), (Link("a-b", "a", "b", 1e3, 2.0),))
    >>> links_frame(t).values.tolist()
    [['a-b', 'a', 'b', 1000.0, 2.0, None]]
    """
    rows = [
        {
            "id": l.id,
            "u": l.u,
            "v": l.v,
            "capacity_mbps": float(l.capacity_mbps),
            "weight": float(l.weight),
            "length_km": None if l.length_km is None else float(l.length_km),
        }
        for l in topology.links
    ]
    df = pd.DataFrame(rows, columns=LINK_COLUMNS)
    df["length_km"] = df["length_km"].astype(object).where(df["length_km"].notna(), None)
    return df


def _positive(value: Any, link_id: str, column: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x) or x <= 0:
        raise InputError(f"link '{link_id}'", f"{column} must be a positive number, got {value!r}")
    return x


def apply_link_edits(topology: Topology, edited: pd.DataFrame) -> Topology:
    """A copy of ``topology`` with the capacities and weights of the edited links table.

    Only ``capacity_mbps`` and ``weight`` are taken from ``edited`` (matched on ``id``; links
    missing from it stay as they were); each must be a positive finite number, else
    InputError names the link and the column.

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("t", (Node("a", "A"), Node("b", "B")), (Link("a-b", "a", "b", 1e3),))
    >>> df = links_frame(t); df.loc[0, "capacity_mbps"] = 2500
    >>> apply_link_edits(t, df).links[0].capacity_mbps
    2500.0
    """
    missing = [c for c in ("id", *EDITABLE_COLUMNS) if c not in edited.columns]
    if missing:
        raise InputError("links table", f"missing column(s) {', '.join(missing)}")
    by_id = {str(r["id"]): r for r in edited.to_dict("records")}
    links = []
    for l in topology.links:
        row = by_id.get(l.id)
        if row is None:
            links.append(l)
            continue
        cap = _positive(row["capacity_mbps"], l.id, "capacity_mbps")
        weight = _positive(row["weight"], l.id, "weight")
        links.append(type(l)(l.id, l.u, l.v, cap, weight, l.length_km))
    return topology.with_links(links)


def topology_counts(topology: Topology) -> dict[str, int]:
    """Nodes, links, link directions and nodes with coordinates.

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("t", (Node("a", "A", 1.0, 2.0), Node("b", "B")), (Link("a-b", "a", "b", 1e3),))
    >>> topology_counts(t)
    {'nodes': 2, 'links': 1, 'directions': 2, 'located': 1}
    """
    return {
        "nodes": len(topology.nodes),
        "links": len(topology.links),
        "directions": topology.n_directions,
        "located": sum(1 for n in topology.nodes if n.lat is not None and n.lon is not None),
    }


def preview_data(topology: Topology) -> dict:
    """Map data of a topology without loads (the Topology page's preview): clicks change nothing.

    >>> from netdrift.engine.network.topology import Topology, Node, Link
    >>> t = Topology("t", (Node("a", "A", 48.9, 2.4), Node("b", "B", 52.5, 13.4)), (Link("a-b", "a", "b", 1e3),))
    >>> d = preview_data(t)
    >>> len(d["nodes"]), len(d["edges"]), d["click_mode"], d["geo"]["kind"]
    (2, 2, 'preview', 'mercator')
    """
    data = build_map(topology, node_positions(topology), None)
    data.update(topology=topology.name, step=None, down_links=[], click_mode="preview")
    return data
