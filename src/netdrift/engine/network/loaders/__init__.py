"""Load a network topology from a file or a bundled name into an :class:`netdrift.engine.network.topology.Topology`.

Formats (by file ending, else by content):

========================  =============================================================
``.graphml``              Internet Topology Zoo GraphML
``.gml``                  Internet Topology Zoo GML
``.xml``                  SNDlib XML network file (``<network>``), or GraphML
``.txt``                  SNDlib native network file (``NODES ( ... ) LINKS ( ... )``)
``.json``                 netdrift's own JSON (:func:`save_topology_json`)
========================  =============================================================

Every format is normalised the same way: self-loops dropped, parallel links merged with their
capacities summed, unknown link speeds set to ``DEFAULT_CAPACITY_MBPS``, link lengths from
node coordinates, each fix recorded once in ``Topology.warnings``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from netdrift.engine.errors import InputError
from netdrift.engine.network.loaders._build import REFERENCE_BANDWIDTH_MBPS, WEIGHT_SCHEMES, check_weights
from netdrift.engine.network.loaders.bundled import bundled_topologies, samples_dir
from netdrift.engine.network.loaders.gml import parse_gml
from netdrift.engine.network.loaders.graphml import parse_graphml
from netdrift.engine.network.loaders.netjson import (
    parse_netjson,
    save_topology_json,
    topology_from_dict,
    topology_to_dict,
)
from netdrift.engine.network.loaders.sndlib import parse_sndlib_native, parse_sndlib_xml
from netdrift.engine.network.topology import Topology

__all__ = [
    "load_topology",
    "load_topology_bytes",
    "bundled_topologies",
    "samples_dir",
    "save_topology_json",
    "topology_to_dict",
    "topology_from_dict",
    "WEIGHT_SCHEMES",
    "REFERENCE_BANDWIDTH_MBPS",
    "DEFAULT_MAX_BYTES",
]

#: Largest topology file accepted (20 MiB).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

_Parser = Callable[[bytes, str, str, "str | None"], Topology]
_PARSERS: dict[str, _Parser] = {
    "graphml": parse_graphml,
    "gml": parse_gml,
    "sndlib-xml": parse_sndlib_xml,
    "sndlib-native": parse_sndlib_native,
    "json": parse_netjson,
}
_BY_SUFFIX = {".graphml": "graphml", ".gml": "gml", ".txt": "sndlib-native", ".json": "json"}


def _detect_format(data: bytes, suffix: str, what: str) -> str:
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "graphml" if b"<graphml" in head else "sndlib-xml"
    if head.startswith((b"{", b"[")):
        return "json"
    if re.search(rb"^\s*NODES\s*\(", head, re.MULTILINE):
        return "sndlib-native"
    if re.search(rb"\bgraph\s*\[", head):
        return "gml"
    raise InputError(
        what,
        "unrecognised topology format (expected Topology Zoo .graphml/.gml, SNDlib .xml/.txt or netdrift .json)",
    )


def load_topology_bytes(
    data: bytes, filename: str, weights: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Topology:
    """Load a topology from file contents (an upload); ``filename`` gives the format and name.

    See :func:`load_topology` for ``weights`` and the rules applied.
    """
    what = f"topology file '{filename}'"
    check_weights(weights, what)
    if len(data) > max_bytes:
        raise InputError(what, f"file is {len(data):,} bytes, over the {max_bytes:,}-byte limit")
    if not data.strip():
        raise InputError(what, "file is empty")
    path = Path(filename)
    fmt = _detect_format(data, path.suffix.lower(), what)
    return _PARSERS[fmt](data, path.stem or "topology", what, weights)


def _load_stream(path: Path, what: str, weights: str | None, max_bytes: int) -> Topology:
    """A topology from a file that is not a regular one (a pipe such as ``/dev/stdin``, a FIFO).

    It has no size to check beforehand, so at most ``max_bytes + 1`` bytes are read; the format
    comes from the name's ending, else from the content.
    """
    try:
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as err:
        raise InputError(what, f"cannot read it (not a regular file: {err.strerror or err})") from None
    if len(data) > max_bytes:
        raise InputError(what, f"input is over the {max_bytes:,}-byte limit")
    if not data.strip():
        raise InputError(what, "is empty (nothing was read from it; it is not a regular file, e.g. a pipe)")
    fmt = _detect_format(data, path.suffix.lower(), what)
    return _PARSERS[fmt](data, path.stem or "topology", what, weights)


def load_topology(source: str | Path, weights: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> Topology:
    """Load a topology file, or a bundled topology by name, into a Topology.

    Parameters
    ----------
    source : str or Path
        A file path, or the name of a bundled topology (case-insensitive, e.g. ``"geant2001"``;
        see :func:`bundled_topologies`). An existing file wins over a bundled name.
    weights : {None, "hop", "distance", "inv-capacity"}
        IGP link weights. ``None`` (default): the file's own weights where it has them (SNDlib
        routing costs, netdrift JSON weights), else ``"hop"``. ``"hop"``: every link 1.
        ``"distance"``: the link length in km (at least 1); links without a length (an end
        without coordinates) get the median length, with a warning. ``"inv-capacity"``: OSPF
        auto-cost with a 100 Gbit/s reference, ``max(1, floor(100000 / capacity_mbps))``.
        A scheme given here replaces the file's weights.
    max_bytes : int
        Files larger than this are refused (default 20 MiB).

    Returns
    -------
    Topology
        Nodes in file order, links in file order of their first edge. A link's id is the
        file's own (SNDlib, JSON) or ``"{u}-{v}"`` with the endpoints as the file orders them.
        ``warnings`` lists what was fixed or assumed (merged parallel links, dropped self-loops,
        assumed capacities, a disconnected graph, ...).

    Raises
    ------
    InputError
        Missing, unreadable, oversized, truncated, malformed or unsafe files (XML with entity
        declarations), files that are not a graph or have no nodes, links naming unknown
        nodes, an unknown ``weights`` name. The message names the file and the problem.

    Examples
    --------
    >>> t = load_topology("abilene")
    >>> len(t.nodes), len(t.links), t.links[0].id
    (11, 14, '0-1')
    >>> {l.weight for l in t.links}
    {1.0}
    >>> load_topology("abilene", weights="inv-capacity").links[0].weight  # OC-192: 9953.28 Mbit/s
    10.0
    """
    given = str(source)
    path = Path(source)
    what = f"topology file '{given}'"
    check_weights(weights, what)
    if not path.is_file():
        bundled = bundled_topologies()
        if isinstance(source, str) and given.lower() in bundled:
            path = bundled[given.lower()]
            what = f"topology file '{path}'"
        elif path.is_dir():
            raise InputError(what, "is a directory, not a topology file")
        elif path.exists():  # a pipe or another stream (``/dev/stdin``): read it, up to the limit
            return _load_stream(path, what, weights, max_bytes)
        else:
            names = ", ".join(bundled) or "none found"
            raise InputError(what, f"no such file, and not a bundled topology name (bundled: {names})")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(what, f"file is {size:,} bytes, over the {max_bytes:,}-byte limit")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as err:
        raise InputError(what, f"cannot read the file ({err.strerror or err})") from None
    if len(data) > max_bytes:
        raise InputError(what, f"file is over the {max_bytes:,}-byte limit")
    if not data.strip():
        raise InputError(what, "file is empty")
    fmt = _detect_format(data, path.suffix.lower(), what)
    return _PARSERS[fmt](data, path.stem or "topology", what, weights)
